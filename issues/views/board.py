"""The responsiveness board (红黑榜) for handlers and cadres: /issues/board/.

The viewer's own scope (``buildings.handle_issues``) decides whose rows are shown
(``issues.selectors.board``). A period chooser (this month, last month, the last 90
days, or dates), the table (the text alternative of the chart), the red and black
lists, and a server-rendered SVG bar chart of the on-time rates: no script.
"""

from __future__ import annotations

import datetime

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from buildings.permissions import HANDLE_ISSUES
from core.pages import staff_page

from ..models import HandlerLevel
from ..selectors.board import board_for, min_reports, red_and_black

THIS_MONTH, LAST_MONTH, LAST_90, CUSTOM = "month", "last_month", "90d", "custom"
MAX_CUSTOM_DAYS = 366 * 2
CHART_ROWS = 40  # bars drawn at most (the table lists every handler)

DENIED = gettext_lazy("The board is for the handlers of reports and the committees.")


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def period_bounds(period: str, *, today: datetime.date, start=None, end=None):
    """(first day, last day) of a period, both included."""
    if period == LAST_MONTH:
        last = today.replace(day=1) - datetime.timedelta(days=1)
        return last.replace(day=1), last
    if period == LAST_90:
        return today - datetime.timedelta(days=89), today
    if period == CUSTOM and start and end:
        return start, end
    return today.replace(day=1), today


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        required=False,
        choices=[
            (THIS_MONTH, gettext_lazy("This month")),
            (LAST_MONTH, gettext_lazy("Last month")),
            (LAST_90, gettext_lazy("Last 90 days")),
            (CUSTOM, gettext_lazy("Dates")),
        ],
    )
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=gettext_lazy("To (included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    level = forms.ChoiceField(
        label=gettext_lazy("Handlers"),
        required=False,
        choices=[("", gettext_lazy("All")), *HandlerLevel.choices],
    )

    def clean(self):
        data = super().clean()
        if data.get("period") == CUSTOM:
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("Give both dates, or choose another period."))
            if end < start:
                raise forms.ValidationError(_("The end date is before the start date."))
            if (end - start).days > MAX_CUSTOM_DAYS:
                raise forms.ValidationError(_("Choose at most two years."))
        return data


def _percent(rate) -> int | None:
    return None if rate is None else round(rate * 100)


def chart_for(rows, *, width: int = 640) -> dict:
    """The geometry of the SVG bar chart: two bars per handler (acknowledged and resolved
    on time, 0-100 %), label column on the left."""
    label_width, bar_area, bar, gap, group = 200, width - 200 - 48, 12, 2, 34
    items = []
    for index, row in enumerate(rows[:CHART_ROWS]):
        y = 28 + index * group
        ack, res = _percent(row.acknowledge_rate), _percent(row.resolve_rate)
        items.append(
            {
                "row": row,
                "y": y,
                "label_y": y + bar + 3,
                "ack": ack,
                "res": res,
                "ack_width": round(bar_area * (ack or 0) / 100, 1),
                "res_width": round(bar_area * (res or 0) / 100, 1),
                "ack_y": y,
                "res_y": y + bar + gap,
                "ack_text_x": label_width + round(bar_area * (ack or 0) / 100, 1) + 4,
                "res_text_x": label_width + round(bar_area * (res or 0) / 100, 1) + 4,
                "ack_text_y": y + bar - 2,
                "res_text_y": y + 2 * bar + gap - 2,
            }
        )
    height = 28 + len(items) * group + 8
    return {
        "items": items,
        "width": width,
        "height": height,
        "label_width": label_width,
        "label_x": label_width - 8,
        "bar_area": bar_area,
        "bar": bar,
        "grid": [{"x": label_width + bar_area * p / 100, "label": f"{p}%"} for p in (0, 50, 100)],
        "more": max(0, len(rows) - CHART_ROWS),
    }


@staff_page(HANDLE_ISSUES, denied=DENIED)
@require_GET
def board(request):
    today = timezone.localdate()
    form = PeriodForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    period = data.get("period") or THIS_MONTH
    first, last = period_bounds(period, today=today, start=data.get("start"), end=data.get("end"))
    level = data.get("level") or None
    rows = board_for(
        scope=request.scope,
        start=_local_midnight(first),
        end=_local_midnight(last + datetime.timedelta(days=1)),
        level=level,
    )
    red, black = red_and_black(rows)
    context = {
        "form": form,
        "rows": rows,
        "red": red,
        "black": black,
        "first": first,
        "last": last,
        "period": period,
        "min_reports": min_reports(),
        "chart": chart_for(rows),
    }
    return render(request, "issues/board.html", context, status=200 if valid else 400)


urlpatterns = [path("board/", board, name="board")]
