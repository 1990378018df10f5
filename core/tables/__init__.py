"""Tables in and out: spreadsheets and CSV files, for any app.

* :mod:`core.tables.cells` - one cell's value: safe on the way out (never a formula,
  no control characters), restored on the way in;
* :mod:`core.tables.reading` - XLSX and CSV files (encoding, header row, blank rows,
  size and row limits) under a caller's :class:`~core.tables.reading.TableSpec`;
* :mod:`core.tables.xlsx` - the one XLSX writer every export uses;
* :mod:`core.tables.uploads` - uploads kept, encrypted, between preview and confirm;
* :mod:`core.tables.flow` - the upload → preview → confirm pages' steps, the errors
  workbook, the upload form.

Nothing here knows what the rows mean; the apps above say that.
"""
