"""Audited events of the registry: one function per event (core.AuditEvent rows)."""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from core.audit import record, record_subjects, register_actions

from .models import Resident

IDENTITY_REVEALED = "identity_revealed"
RESIDENT_ANONYMISED = "resident_anonymised"
HOUSEHOLD_MOVED = "household_moved"
HOUSEHOLD_CODE_ISSUED = "household_code_issued"
HOUSEHOLD_CODE_REVOKED = "household_code_revoked"
RESIDENT_VERIFIED = "resident_verified"
REGISTRY_IMPORTED = "registry_imported"
REGISTRY_EXPORTED = "registry_exported"
VERIFICATION_REVOKED = "verification_revoked"
VISITOR_LINK_ROTATED = "visitor_link_rotated"
VISITOR_DECLARATION_REVIEWED = "visitor_declaration_reviewed"
WELLBEING_ALERT_HANDLED = "wellbeing_alert_handled"

register_actions(
    {
        IDENTITY_REVEALED: _("full ID or phone number shown"),
        RESIDENT_ANONYMISED: _("resident anonymised"),
        HOUSEHOLD_MOVED: _("household moved"),
        HOUSEHOLD_CODE_ISSUED: _("household code issued"),
        HOUSEHOLD_CODE_REVOKED: _("household code revoked"),
        RESIDENT_VERIFIED: _("account verified"),
        REGISTRY_IMPORTED: _("registry imported"),
        REGISTRY_EXPORTED: _("registry exported"),
        VERIFICATION_REVOKED: _("verification revoked"),
        VISITOR_LINK_ROTATED: _("visitor link replaced"),
        VISITOR_DECLARATION_REVIEWED: _("visitor declaration reviewed"),
        WELLBEING_ALERT_HANDLED: _("wellbeing alert handled"),
    }
)


def identity_revealed(*, actor, resident, fields, ip=None):
    return record(
        actor=actor, action=IDENTITY_REVEALED, target=resident, ip=ip, fields=sorted(fields)
    )


def resident_anonymised(*, actor, resident, ip=None):
    return record(actor=actor, action=RESIDENT_ANONYMISED, target=resident, ip=ip)


def labels_anonymised(*, resident, account_id=None, actor_label: str) -> int:
    """Rewrite the labels that name an anonymised person; returns the rows changed.

    The one sanctioned rewrite of audit rows, which are otherwise never changed
    (``core.audit``): a person who asks to be removed (个人信息保护法) must not stay
    named in the log. The rows keep what was done, when, by whom (the actor id) and
    to what (the target type and id); only the labels copied from the person go:

    * ``target_label`` of the rows about the resident, or about one of their wellbeing
      alerts (whose label starts with the resident's name), is recomputed from the
      anonymised rows;
    * ``actor_label`` of the rows made by the resident's account (``account_id``, the
      account linked before anonymising) becomes ``actor_label``.

    ``resident`` must already hold its anonymised name.
    """
    from core.models import AuditEvent

    from .models import WellbeingAlert

    changed = 0
    targets = [(type(resident), [resident]), (WellbeingAlert, resident.wellbeing_alerts.all())]
    for model, objects in targets:
        content_type = ContentType.objects.get_for_model(model)
        for obj in objects:
            changed += AuditEvent.objects.filter(target_type=content_type, target_id=obj.pk).update(
                target_label=str(obj)[:200]
            )
    if account_id is not None:
        changed += AuditEvent.objects.filter(actor_id=account_id).update(
            actor_label=str(actor_label)[:100]
        )
    return changed


def household_moved(*, actor, old, new, moved_on):
    return record(
        actor=actor,
        action=HOUSEHOLD_MOVED,
        target=new,
        from_household=old.pk,
        from_dwelling=old.dwelling_id,
        to_dwelling=new.dwelling_id,
        moved_on=moved_on.isoformat(),
    )


def household_code_issued(*, actor, household, code_id):
    return record(actor=actor, action=HOUSEHOLD_CODE_ISSUED, target=household, code=code_id)


def household_code_revoked(*, actor, household, code_id):
    return record(actor=actor, action=HOUSEHOLD_CODE_REVOKED, target=household, code=code_id)


def resident_verified(*, actor, resident, ip=None):
    return record(actor=actor, action=RESIDENT_VERIFIED, target=resident, ip=ip)


def registry_imported(*, actor, neighbourhood_id, rows, created, updated, filename, ip=None):
    return record(
        actor=actor,
        action=REGISTRY_IMPORTED,
        neighbourhood_id=neighbourhood_id,
        ip=ip,
        rows=rows,
        created=created,
        updated=updated,
        filename=filename,
    )


def registry_exported(
    *, actor, neighbourhood_id, rows, masked, ip=None, resident_ids=(), **details
):
    """An export; one with full values also names every resident it held (``AuditSubject``
    rows), so each of them sees it on /me/data/."""
    event = record(
        actor=actor,
        action=REGISTRY_EXPORTED,
        neighbourhood_id=neighbourhood_id,
        ip=ip,
        rows=rows,
        masked=masked,
        **details,
    )
    if not masked and resident_ids:
        record_subjects(event, model=Resident, ids=resident_ids)
    return event


def verification_revoked(*, actor, resident, account_id, ip=None):
    return record(
        actor=actor, action=VERIFICATION_REVOKED, target=resident, ip=ip, account=account_id
    )


def visitor_link_rotated(*, actor, household, generation):
    """A record only: the link's generation lives on the household."""
    return record(actor=actor, action=VISITOR_LINK_ROTATED, target=household, generation=generation)


def visitor_declaration_reviewed(*, actor, declaration, status, previous, ip=None):
    # No target object: its label would keep the visitor's name after the purge.
    return record(
        actor=actor,
        action=VISITOR_DECLARATION_REVIEWED,
        neighbourhood_id=declaration.neighbourhood_id,
        ip=ip,
        declaration=declaration.pk,
        status=status,
        previous=previous,
    )


def wellbeing_alert_handled(*, actor, alert, note, ip=None):
    return record(
        actor=actor,
        action=WELLBEING_ALERT_HANDLED,
        target=alert,
        ip=ip,
        resident=alert.resident_id,
        note=note,
    )
