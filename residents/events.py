"""Audited events of the registry: one function per event (core.AuditEvent rows)."""

from django.utils.translation import gettext_lazy as _

from core.audit import record, register_actions

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


def registry_exported(*, actor, neighbourhood_id, rows, masked, ip=None, **details):
    return record(
        actor=actor,
        action=REGISTRY_EXPORTED,
        neighbourhood_id=neighbourhood_id,
        ip=ip,
        rows=rows,
        masked=masked,
        **details,
    )


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
