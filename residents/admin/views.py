"""Custom pages of the registry admin (``.residents.ResidentAdmin`` wires them in).

* ``reveal_identity``: a resident's full ID and phone numbers, shown once in
  answer to a POST, for a user holding ``residents.view_full_identity``; every
  showing writes an audit record (who, whose, when, from which address) through
  ``residents.services.resident_reveal_identity``. Outside the user's scope the
  resident is a 404, whatever the user's permissions.
* ``add_care_tags``: the intermediate page of the "add care tags" bulk action.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.audit import client_ip

from ..models import CareTag
from ..services import resident_add_tags, resident_reveal_identity

#: how many of the selected residents the bulk-tag page names
SAMPLE_SIZE = 20


def reveal_identity(request, object_id, *, model_admin):
    resident = model_admin.get_object(request, unquote(object_id))  # 404 outside the scope
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_view_permission(request, resident):
        raise PermissionDenied
    # The service checks residents.view_full_identity (PermissionDenied: a 403) and
    # writes the audit record.
    revealed = resident_reveal_identity(user=request.user, resident=resident, ip=client_ip(request))
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Full ID and phone numbers"),
        "subtitle": str(resident),
        "opts": opts,
        "original": resident,
        "id_label": resident.get_id_type_display(),
        "revealed": revealed,
        "change_url": reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=[resident.pk],
            current_app=model_admin.admin_site.name,
        ),
    }
    request.current_app = model_admin.admin_site.name
    response = TemplateResponse(request, "admin/residents/resident/reveal_identity.html", context)
    response["Cache-Control"] = "no-store"
    return response


class CareTagChoiceForm(forms.Form):
    tags = forms.ModelMultipleChoiceField(
        label=_("care tags"),
        queryset=CareTag.objects.filter(active=True),
        widget=forms.CheckboxSelectMultiple,
    )


def add_care_tags(request, queryset, *, model_admin):
    """Ask which tags to add; then add them to ``queryset`` (the scoped selection)."""
    form = CareTagChoiceForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        residents = queryset.order_by().prefetch_related(None)
        added = resident_add_tags(residents=residents, tags=list(form.cleaned_data["tags"]))
        model_admin.message_user(
            request,
            ngettext("%(count)d care tag added.", "%(count)d care tags added.", added)
            % {"count": added},
            messages.SUCCESS,
        )
        return None  # back to the list
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Add care tags"),
        "opts": opts,
        "form": form,
        "count": queryset.count(),
        "sample": list(queryset.prefetch_related(None)[:SAMPLE_SIZE]),
        "action_name": "add_care_tags",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "changelist_url": reverse(
            f"admin:{opts.app_label}_{opts.model_name}_changelist",
            current_app=model_admin.admin_site.name,
        ),
        "media": model_admin.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/residents/resident/add_care_tags.html", context)
