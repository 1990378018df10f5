"""Wellbeing alert pages for cadres, under /registry/alerts/.

The list shows the alerts of the viewer's neighbourhoods (open by default, or
handled, or all); an alert is marked handled with a note, by POST, audited.
Another neighbourhood's alert is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from buildings.permissions import MANAGE
from core.audit import client_ip
from core.pages import staff_page

from ..forms import add_service_errors
from ..forms.alerts import HandleAlertForm
from ..selectors.wellbeing import ALL, HANDLED, OPEN, access_alert, alerts_visible_to, gap, min_age
from ..services import wellbeing_alert_handle

PAGE_SIZE = 50
STATUSES = [
    (OPEN, gettext_lazy("Open")),
    (HANDLED, gettext_lazy("Handled")),
    (ALL, gettext_lazy("All")),
]


DENIED = gettext_lazy("Wellbeing alerts are for the residents' committee.")


def _context(**extra):
    return {
        "min_age": min_age(),
        "gap_hours": int(gap().total_seconds() // 3600),
        "today": timezone.localdate(),
        **extra,
    }


@staff_page(MANAGE, denied=DENIED)
@require_GET
def alert_list(request):
    status = request.GET.get("status") or OPEN
    if status not in dict(STATUSES):
        status = OPEN
    paginator = Paginator(alerts_visible_to(user=request.user, status=status), PAGE_SIZE)
    page_obj = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "residents/alerts.html",
        _context(
            page_obj=page_obj,
            status=status,
            statuses=STATUSES,
            handle_form=HandleAlertForm(),
        ),
    )


@staff_page(MANAGE, denied=DENIED)
@require_GET
def alert_detail(request, pk):
    alert = access_alert(user=request.user, pk=pk)
    return render(
        request, "residents/alert_detail.html", _context(alert=alert, form=HandleAlertForm())
    )


@staff_page(MANAGE, denied=DENIED)
@require_POST
def alert_handle(request, pk):
    alert = access_alert(user=request.user, pk=pk)
    form = HandleAlertForm(request.POST)
    if form.is_valid():
        try:
            wellbeing_alert_handle(
                alert=alert, by=request.user, note=form.cleaned_data["note"], ip=client_ip(request)
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Alert for %(name)s marked handled.") % {"name": alert.resident.name}
            )
            return redirect(f"{reverse('registry:alerts')}?status={OPEN}")
    return render(
        request,
        "residents/alert_detail.html",
        _context(alert=alert, form=form),
        status=400,
    )
