"""Signals of the place tree, for apps above buildings to react without being named here."""

from django.dispatch import Signal

#: Sent by ``buildings.services.estate_move`` and ``building_move`` once every
#: registered place-bound model's place ids have been carried along, inside the
#: move's transaction (a receiver that fails rolls the move back; a receiver with
#: side effects - mail, tasks, webhooks - defers them with ``transaction.on_commit``).
#:
#: ``sender`` is the moved place's model (``Estate`` or ``Building``); the keyword
#: arguments are ``place`` (the moved instance, already in its new place),
#: ``old`` and ``new`` (dicts of the place ids before and after:
#: ``{"neighbourhood_id": 1}`` for an estate, ``{"neighbourhood_id": 1,
#: "estate_id": 2}`` for a building), ``by`` (who moved it, or None) and ``rows``
#: (``{"app_label.Model": number of rows updated}``).
place_moved = Signal()
