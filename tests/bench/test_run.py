"""bench/run.py without a server: its options, its targets and the district ÷ normal table."""

import pytest

from bench import run

loadgen = run.loadgen

CREDS = {
    "api_header": "Authorization: Api-Key linli_abc_secret",
    "cadre_cookie": "sessionid=cadre",
    "district_cadre_cookie": "sessionid=district",
}


def figure(target, p50, *, connections=1, skipped=None, errors=0):
    return run.Figure(
        target,
        "/",
        f"what {target}",
        requests_per_second=None if skipped else 10.0,
        p50_ms=None if skipped else p50,
        p99_ms=None if skipped else 2 * p50,
        connections=connections,
        errors=errors,
        skipped=skipped,
    )


def both(target, normal, district, **kwargs):
    return [figure(target, normal, **kwargs)], [figure(target, district, **kwargs)]


# --- options --------------------------------------------------------------------------


def test_defaults_are_a_full_run_at_normal_scale():
    args = run.parse_args([])
    assert args.scale == "normal"
    assert args.connections == [16, 1]
    assert args.duration == loadgen.MAX_DURATION
    assert args.warmup == 2
    assert args.extra is True


def test_the_district_scale_only_when_asked():
    assert run.parse_args(["--scale", "district"]).scale == "district"
    with pytest.raises(SystemExit):
        run.parse_args(["--scale", "region"])


def test_smoke_is_one_short_run_at_one_connection_without_the_extra_benchmarks():
    args = run.parse_args(["--smoke"])
    assert (args.duration, args.warmup, args.connections) == (1, 0, [1])
    assert args.extra is False


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["--duration", "2", "--connections", "1"], False),
        (["--duration", "1"], False),
        (["--no-extra"], False),
        (["--duration", "60"], True),  # clamped to the maximum: a full run
    ],
)
def test_a_short_check_does_not_run_bench_registry(argv, extra):
    args = run.parse_args(argv)
    assert args.extra is extra
    assert 1 <= args.duration <= loadgen.MAX_DURATION


def test_connection_counts_are_positive():
    assert run.parse_args(["--connections", "8,2,1"]).connections == [8, 2, 1]
    with pytest.raises(SystemExit):
        run.parse_args(["--connections", "0"])


# --- targets --------------------------------------------------------------------------


def test_the_same_targets_at_both_scales():
    targets = {t.name: t for t in run.targets_for(CREDS)}
    assert list(targets) == [
        "ceiling",
        "bare",
        "api",
        "home",
        "signed_in",
        "home_district",
        "changelist_district",
    ]
    assert targets["api"].what == "API list, district key"
    assert "Authorization: Api-Key linli_abc_secret" in targets["api"].headers
    changelist = targets["changelist_district"]
    assert changelist.what == "resident changelist, district cadre"
    assert changelist.path == "/admin/residents/resident/"
    assert changelist.expect == "text/html"
    assert "Cookie: sessionid=district" in changelist.headers
    assert "Cookie: sessionid=district" in targets["home_district"].headers
    for target in targets.values():
        assert "X-Forwarded-Proto: https" in target.headers
    assert set(run.SCALE_RATIO_TARGETS) <= targets.keys()


def test_preflight_wants_200_the_content_type_and_the_marker(monkeypatch):
    target = run.Target("changelist_district", "/admin/x/", "c", [], "text/html", marker="CL")
    answers = iter(
        [
            (302, "text/html", b""),
            (200, "application/json", b"CL"),
            (200, "text/html; charset=utf-8", b"<form>login</form>"),
            (200, "text/html; charset=utf-8", b"<div>CL</div>"),
        ]
    )
    monkeypatch.setattr(run, "fetch", lambda url, headers: next(answers))
    assert run.preflight("http://127.0.0.1:1", target) == "HTTP 302 on /admin/x/"
    assert "Content-Type" in run.preflight("http://127.0.0.1:1", target)
    assert "does not hold" in run.preflight("http://127.0.0.1:1", target)
    assert run.preflight("http://127.0.0.1:1", target) is None


# --- district ÷ normal ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("normal", "district", "verdict"),
    [
        (10.0, 10.0, "PASS"),
        (10.0, 12.0, "PASS"),  # exactly 1.2×
        (10.0, 5.0, "PASS"),  # faster on district data
        (10.0, 12.1, "FAIL"),
        (10.0, 300.0, "FAIL"),
    ],
)
def test_the_ratio_passes_at_most_one_point_two(normal, district, verdict):
    (ratio,) = run.scale_ratios(*both("api", normal, district), targets=("api",))
    assert ratio.verdict == verdict
    assert ratio.ratio == pytest.approx(district / normal)
    assert (ratio.normal_p50_ms, ratio.district_p50_ms) == (normal, district)


def test_the_ratio_reads_the_one_connection_figures_only():
    normal = [figure("api", 10.0, connections=16), figure("api", 10.0, connections=1)]
    district = [figure("api", 100.0, connections=16), figure("api", 11.0, connections=1)]
    (ratio,) = run.scale_ratios(normal, district, targets=("api",))
    assert ratio.verdict == "PASS"
    assert ratio.ratio == pytest.approx(1.1)


def test_no_verdict_without_clean_figures_on_both_sides():
    normal = [
        figure("api", 10.0),
        figure("home_district", 10.0, errors=3),
        figure("changelist_district", 10.0, connections=16),
    ]
    district = [
        figure("api", 0, skipped="HTTP 500 on /"),
        figure("home_district", 10.0),
        figure("changelist_district", 10.0, connections=16),
    ]
    ratios = {r.target: r for r in run.scale_ratios(normal, district)}
    assert [r.target for r in ratios.values()] == list(run.SCALE_RATIO_TARGETS)
    assert {r.verdict for r in ratios.values()} == {"n/a"}
    assert "HTTP 500" in ratios["api"].reason
    assert "3 errors" in ratios["home_district"].reason
    assert "not measured at 1 conn." in ratios["changelist_district"].reason


def test_the_table_is_printed_per_worker_class_measured_at_both_scales(capsys):
    normal, district = both("api", 10.0, 30.0)
    ratios = run.compare_scales(
        {"normal/sync": normal, "district/sync": district, "normal/gthread": normal}
    )
    assert list(ratios) == ["sync"]
    out = capsys.readouterr().out
    assert "district ÷ normal, p50 at 1 connection" in out
    assert "3.00×  FAIL" in out
    assert run.compare_scales({"normal/sync": normal}) == {}
