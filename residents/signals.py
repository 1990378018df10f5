"""Signals of the registry, for apps above residents to react without being named here."""

from django.dispatch import Signal

#: Sent by ``residents.services.wellbeing.raise_wellbeing_alerts`` inside the transaction
#: that raised the alerts, once per run that raised any. ``gaps`` is the list of
#: ``(resident id, last seen)`` pairs the run raised alerts for (each pair names one
#: ``WellbeingAlert`` by its unique constraint). A receiver with side effects writes them
#: in the same transaction (an outbox row) or defers them with ``transaction.on_commit``.
wellbeing_alerts_raised = Signal()
