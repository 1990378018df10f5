"""Excel import and export of the registry (居民信息导入/导出), for cadres.

One sheet of an XLSX workbook, or a CSV file (read by ``core.tables.reading``), one
resident per row; the rows of one dwelling form one household (户), the row whose
relation is 户主 its head. The modules, by what they do:

* :mod:`.columns` - the columns, and the spellings of headers and coded values;
* :mod:`.rows` - one row's cells parsed and checked;
* :mod:`.places` - each row's dwelling and registered person;
* :mod:`.households` - households and their heads (``residents.rules.settle_head``);
* :mod:`.planning` - the :class:`Planner` that puts these together, and the result;
* :mod:`.applying` - the bulk writes of a plan without errors;
* :mod:`.importing` - the entry points: :func:`plan_import`, :func:`import_registry`, and
  :func:`run_import_job` for the big files a Celery task saves;
* :mod:`.export` - the export and the import template (``core.tables.xlsx``);
* :mod:`.uploads` - files waiting between preview and confirmation.
"""

from core.tables.flow import RowError, errors_workbook
from core.tables.reading import TableFileError as ImportFileError

from .columns import (
    COLUMN_BY_KEY,
    COLUMNS,
    GENDER_NAMES,
    ID_TYPE_NAMES,
    RELATION_NAMES,
    STATUS_NAMES,
    Column,
    background_rows,
    max_rows,
    max_upload_bytes,
    read_registry_table,
)
from .export import export_values, template_workbook, write_export
from .importing import (
    JOB_KIND,
    import_registry,
    import_summary,
    plan_import,
    run_import_job,
    save_import,
)
from .planning import ImportResult, Planner
from .uploads import (
    UPLOADS,
    purge_expired_uploads,
    upload_discard,
    upload_load,
    upload_store,
)

read_table = read_registry_table

__all__ = [
    "COLUMNS",
    "COLUMN_BY_KEY",
    "Column",
    "GENDER_NAMES",
    "ID_TYPE_NAMES",
    "ImportFileError",
    "ImportResult",
    "JOB_KIND",
    "Planner",
    "RELATION_NAMES",
    "RowError",
    "STATUS_NAMES",
    "UPLOADS",
    "background_rows",
    "errors_workbook",
    "export_values",
    "import_registry",
    "import_summary",
    "max_rows",
    "max_upload_bytes",
    "plan_import",
    "purge_expired_uploads",
    "read_registry_table",
    "read_table",
    "run_import_job",
    "save_import",
    "template_workbook",
    "upload_discard",
    "upload_load",
    "upload_store",
    "write_export",
]
