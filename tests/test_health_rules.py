"""The monitor's pure rules over any series of checks: severities, the error-rate window,
the incident timeline and the issue text it renders."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from models.deploy import ProbeResult
from models.health import TIMELINE_LIMIT, Finding, HealthPolicy, Severity, TimelineEntry
from rules.health import add_to_timeline, classify, error_rate, incident_body, window

policies = st.builds(HealthPolicy, error_rate=st.floats(0.01, 1.0),
                     error_window_checks=st.integers(2, 8), min_requests=st.integers(1, 50),
                     slow_ms=st.floats(1.0, 10_000.0))
counters = st.tuples(st.integers(-1, 500), st.integers(-1, 500))
probes = st.builds(ProbeResult, ok=st.booleans(), has_live=st.booleans(),
                   reason=st.text(max_size=80), latency_ms=st.floats(0, 20_000),
                   degraded=st.sampled_from(["", "cache cold", "x|y\nz"]))


@given(policies, st.lists(st.tuples(probes, counters), max_size=40))
def test_any_series_of_checks_keeps_a_bounded_window_and_a_sound_finding(
        policy: HealthPolicy, checks: list[tuple[ProbeResult, tuple[int, int]]]) -> None:
    samples: list = []
    for probe, (requests, errors) in checks:
        probe = probe.model_copy(update={"requests_total": requests, "errors_5xx": errors})
        before = samples
        samples = window(samples, probe, policy)
        assert len(samples) <= policy.error_window_checks
        assert all(a.requests <= b.requests and a.errors <= b.errors
                   for a, b in itertools.pairwise(samples))
        if requests < 0 or errors < 0:
            assert samples == before[-policy.error_window_checks:]
        rate = error_rate(samples, policy)
        if rate is not None:
            assert 0 <= rate[0] <= rate[1] and rate[1] >= policy.min_requests
        finding = classify(probe, samples, policy)
        if probe.has_live and not probe.ok:
            assert finding.severity == Severity.CRITICAL
            assert finding.reason.startswith("no healthy instance")
        elif rate is not None and rate[0] / rate[1] >= policy.error_rate:
            assert finding.severity == Severity.CRITICAL and "5xx" in finding.reason
        elif probe.degraded or probe.latency_ms > policy.slow_ms:
            assert finding.severity == Severity.WARNING
        else:
            assert finding == Finding()


def test_a_restarted_proxy_starts_the_window_again() -> None:
    policy = HealthPolicy(error_window_checks=3, min_requests=5)
    samples: list = []
    for requests, errors in ((100, 90), (120, 110), (3, 3)):
        samples = window(samples, ProbeResult(ok=True, requests_total=requests,
                                              errors_5xx=errors), policy)
    assert [(s.requests, s.errors) for s in samples] == [(3, 3)]
    assert error_rate(samples, policy) is None


findings = st.builds(Finding, severity=st.sampled_from(list(Severity)),
                     reason=st.sampled_from(["gone", "slow", "5xx", "a|b\nc" * 200]))


@given(st.lists(findings, min_size=1, max_size=80), st.booleans(), st.booleans())
def test_the_timeline_counts_every_check_once_and_renders_one_row_per_entry(
        series: list[Finding], recovered: bool, mention: bool) -> None:
    timeline: list[TimelineEntry] = []
    for number, finding in enumerate(series):
        total = sum(e.checks for e in timeline)
        timeline, added = add_to_timeline(timeline, finding, f"2026-12-02T00:00:{number:02d}Z")
        assert len(timeline) <= TIMELINE_LIMIT
        if not added:
            assert sum(e.checks for e in timeline) == total + 1
        assert all((a.severity, a.reason) != (b.severity, b.reason)
                   for a, b in itertools.pairwise(timeline))
    if len(timeline) < TIMELINE_LIMIT:  # nothing dropped: every check is counted
        assert sum(e.checks for e in timeline) == len(series)
    body = incident_body("acme", "production", "1.2.0", Severity.CRITICAL, timeline,
                         "monitor-production-acme", ["carol"],
                         "2026-12-02T01:00:00Z" if recovered else "", mention=mention)
    rows = [line for line in body.splitlines() if line.startswith("| 2026")]
    assert len(rows) == len(timeline)
    assert all(row.count(" | ") == 3 for row in rows)
    assert ("@carol" in body) == mention and ("`carol`" in body) != mention
    assert ("recovered at" in body) == recovered
