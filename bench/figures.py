"""The bench's figures: targets, measurements, shares and the district ÷ normal table
(split from run.py, which measures; this module only holds and prints)."""

from __future__ import annotations

from dataclasses import dataclass

from pgutil import say

SCALE_RATIO_LIMIT = 1.2
SCALE_RATIO_CONNECTIONS = 1
SCALE_RATIO_TARGETS = ("api", "changelist_district", "home_district")


@dataclass
class Target:
    name: str
    path: str
    what: str
    headers: list[str]
    expect: str  # a Content-Type prefix
    marker: str | None = None  # text the body must hold (e.g. the changelist, not a login form)


@dataclass
class Figure:
    target: str
    path: str
    what: str
    requests_per_second: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    connections: int = 0
    ratio: float | None = None  # of the ceiling
    floor_ratio: float | None = None  # of the same-work floor
    requests: int = 0
    errors: int = 0
    skipped: str | None = None


@dataclass
class ScaleRatio:
    target: str
    what: str
    normal_p50_ms: float | None
    district_p50_ms: float | None
    ratio: float | None
    verdict: str  # PASS, FAIL or n/a
    reason: str = ""


def shares(level: list[Figure]) -> None:
    """Each figure's req/s as a share of the ceiling's and of the floor's (same load)."""
    rate = {f.target: f.requests_per_second for f in level}
    for figure in level:
        if figure.requests_per_second is None:
            continue
        if rate.get("ceiling"):
            figure.ratio = figure.requests_per_second / rate["ceiling"]
        if rate.get("bare"):
            figure.floor_ratio = figure.requests_per_second / rate["bare"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _share(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if value >= 0.01 else f"{value:.1%}"


WHAT, PATH = 38, 34  # column widths


def report(figures: list[Figure], header: str) -> None:
    say()
    say(header)
    for connections in dict.fromkeys(f.connections for f in figures):
        say()
        say(f"{connections} connection{'s' if connections != 1 else ''}:")
        say(
            f"{'target':<{WHAT}}{'path':<{PATH}}{'req/s':>8}{'p50':>11}{'p99':>11}"
            f"{'of ceiling':>12}{'of floor':>10}"
        )
        for f in figures:
            if f.connections != connections:
                continue
            label = f"{f.what:<{WHAT}}{f.path:<{PATH}}"
            if f.requests_per_second is None:
                say(f"{label}{'n/a':>8}   skipped: {f.skipped}")
                continue
            say(
                f"{label}{f.requests_per_second:>8,.0f}{_ms(f.p50_ms):>11}"
                f"{_ms(f.p99_ms):>11}{_share(f.ratio):>12}{_share(f.floor_ratio):>10}"
            )
            if f.errors or f.skipped:
                say(f"{'':<4}! {f.errors} errors; {f.skipped or ''}")


def scale_ratios(
    normal: list[Figure],
    district: list[Figure],
    *,
    connections: int = SCALE_RATIO_CONNECTIONS,
    limit: float = SCALE_RATIO_LIMIT,
    targets: tuple[str, ...] = SCALE_RATIO_TARGETS,
) -> list[ScaleRatio]:
    """District ÷ normal p50 of each of ``targets`` at ``connections``: PASS when at most
    ``limit``, FAIL above it, n/a when either side has no clean figure."""

    def pick(figures, name):
        return next((f for f in figures if f.target == name and f.connections == connections), None)

    ratios = []
    for name in targets:
        at_normal, at_district = pick(normal, name), pick(district, name)
        what = (at_district or at_normal).what if (at_district or at_normal) else name
        reason = ""
        for scale, figure in (("normal", at_normal), ("district", at_district)):
            if figure is None:
                reason = f"not measured at {connections} conn. on the {scale} scale"
            elif figure.skipped or figure.p50_ms is None:
                reason = f"{scale}: {figure.skipped or 'no p50'}"
            elif figure.errors:
                reason = f"{scale}: {figure.errors} errors"
            if reason:
                break
        n_p50 = at_normal.p50_ms if at_normal else None
        d_p50 = at_district.p50_ms if at_district else None
        if reason or not n_p50:
            ratios.append(ScaleRatio(name, what, n_p50, d_p50, None, "n/a", reason or "p50 of 0"))
            continue
        ratio = d_p50 / n_p50
        ratios.append(
            ScaleRatio(name, what, n_p50, d_p50, ratio, "PASS" if ratio <= limit else "FAIL")
        )
    return ratios


def report_ratios(ratios: list[ScaleRatio], header: str, *, limit: float = SCALE_RATIO_LIMIT):
    say()
    at = f"p50 at {SCALE_RATIO_CONNECTIONS} connection"
    say(f"{header}: district ÷ normal, {at} (PASS at most {limit:g}×)")
    say(f"{'target':<{WHAT}}{'normal p50':>12}{'district p50':>14}{'ratio':>8}  verdict")
    for r in ratios:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}×"
        line = f"{r.what:<{WHAT}}{_ms(r.normal_p50_ms):>12}{_ms(r.district_p50_ms):>14}{ratio:>8}"
        say(f"{line}  {r.verdict}" + (f" ({r.reason})" if r.reason else ""))
