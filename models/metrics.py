"""The bot's own metric names, their label sets and histogram buckets, in one catalogue.

Workflows and activities record them (``workflows/metrics.py``, ``activities/metrics.py``),
the worker's runtime sets their buckets (``infra/metrics_runtime.py``) and the Grafana
dashboard queries them (its test checks it names nothing else). Labels are bounded sets —
kinds, outcomes, environments, model ids — never issue text, slugs or secrets.
"""

from __future__ import annotations

# Requests (creation and update runs): kind = creation | update.
REQUESTS = "ccb_requests_total"  # outcome = active | approved | merged | failed | ...
REQUEST_TO_PR = "ccb_request_to_pr_seconds"
REQUEST_TO_MERGE = "ccb_request_to_merge_seconds"
REQUEST_TO_ACTIVE = "ccb_request_to_active_seconds"
HUMAN_WAIT = "ccb_human_wait_seconds"  # decision = approved | changes_requested
# Deployments: environment, kind = deploy | promote | rollback, result = live | rolled_back
# | refused; rollbacks the health monitor started: environment, result = done | failed | none.
DEPLOYMENTS = "ccb_deployments_total"
ROLLBACKS = "ccb_rollbacks_total"
HEALTH_FAILURES = "ccb_health_failures_total"  # environment
# Incidents the monitor opened and closed: environment, severity = warning | critical,
# event = opened | escalated | closed.
INCIDENTS = "ccb_incidents_total"
# Model calls: model (the configured ids), kind = input | output | cache_write | cache_read.
MODEL_TOKENS = "ccb_model_tokens_total"
MODEL_COST_MICRODOLLARS = "ccb_model_cost_microdollars_total"  # the SDK's counters are ints
# Sandboxed test runs: isolation = docker | local, result = passed | failed | error.
SANDBOX_RUN = "ccb_sandbox_run_seconds"
# The starter's own (prometheus_client): event = a handled GitHub event or "other".
STARTER_WEBHOOKS = "ccb_starter_webhooks_total"  # event, outcome = the answer's status

# From a minute to a week: requests wait for people.
REQUEST_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
                   14400.0, 43200.0, 86400.0, 259200.0, 604800.0)
SANDBOX_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0)

HISTOGRAM_BUCKETS: dict[str, tuple[float, ...]] = {
    REQUEST_TO_PR: REQUEST_BUCKETS,
    REQUEST_TO_MERGE: REQUEST_BUCKETS,
    REQUEST_TO_ACTIVE: REQUEST_BUCKETS,
    HUMAN_WAIT: REQUEST_BUCKETS,
    SANDBOX_RUN: SANDBOX_BUCKETS,
}

WORKER_METRICS = (REQUESTS, REQUEST_TO_PR, REQUEST_TO_MERGE, REQUEST_TO_ACTIVE, HUMAN_WAIT,
                  DEPLOYMENTS, ROLLBACKS, HEALTH_FAILURES, INCIDENTS, MODEL_TOKENS,
                  MODEL_COST_MICRODOLLARS, SANDBOX_RUN)
STARTER_METRICS = (STARTER_WEBHOOKS,)
