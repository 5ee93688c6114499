"""What activities measure, through the SDK's activity meter (the worker's Prometheus).

Outside an activity (a script, a unit test) nothing is recorded. Labels are bounded: model
ids come from the settings and the API's answer, the rest are fixed words.
"""

from __future__ import annotations

from temporalio import activity

from models import metrics as m
from models.codegen import TokenUsage


def record_model_usage(model: str, usage: TokenUsage) -> None:
    """One model call's tokens by kind, and its cost in micro-dollars."""
    if not activity.in_activity():
        return
    meter = activity.metric_meter()
    tokens = meter.create_counter(m.MODEL_TOKENS, "tokens of model calls, by model and kind")
    for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens),
                        ("cache_write", usage.cache_creation_input_tokens),
                        ("cache_read", usage.cache_read_input_tokens)):
        if count:
            tokens.add(count, {"model": model, "kind": kind})
    cost = round(usage.cost_usd * 1_000_000)
    if cost:
        meter.create_counter(m.MODEL_COST_MICRODOLLARS, "cost of model calls, micro-USD").add(
            cost, {"model": model})


def record_sandbox_run(isolation: str, result: str, seconds: float) -> None:
    """One sandboxed test run's wall time."""
    if not activity.in_activity():
        return
    kind = "docker" if isolation.startswith("docker") else "local"
    activity.metric_meter().create_histogram_float(
        m.SANDBOX_RUN, "wall time of sandboxed test runs", "s").record(
        max(seconds, 0.0), {"isolation": kind, "result": result})
