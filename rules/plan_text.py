"""The plan comment (issue 15, item 2): what the bot will build, posted for a person to
approve before any code is written (pure).

Everything taken from the analysis or the request is rendered inert: a model's summary or a
requester's endpoint description must not mention, close or render as HTML. The comment says
how to answer, naming the revision, so an approval is bound to what was read.
"""

from __future__ import annotations

from datetime import timedelta

from models.codegen import Backend
from models.manifest import TechnicalSpec
from models.plan import PlanCost
from models.request import AuthType, IntegrationRequest, IntegrationType
from rules.inert import code_span, inert
from rules.words import span

MAX_ITEMS = 30  # per list; the rest counted
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def risks(request: IntegrationRequest, spec: TechnicalSpec) -> list[str]:
    """What could go wrong or needs a person, read off the request and the analysis."""
    found: list[str] = []
    if request.auth != AuthType.NONE:
        found.append(f"needs a credential ({request.auth.value}): an operator stores it with "
                     "`ccb secrets set` before the merge, or the request waits")
    if request.integration_type == IntegrationType.WEBHOOK_RECEIVER:
        found.append("receives deliveries from the outside: each one's signature is verified "
                     "with the shared webhook secret, which must be set before the merge")
    elif request.integration_type == IntegrationType.SYNC_JOB:
        found.append("runs on a schedule once deployed: it calls the source on its own, at "
                     "the stated rate limit")
    writes = sorted({e.method for e in request.endpoints if e.method in WRITES})
    if writes and request.integration_type != IntegrationType.WEBHOOK_RECEIVER:
        found.append(f"changes data at the service ({', '.join(writes)}): its tests run "
                     "against a local stand-in, never the real service")
    return found or ["none found beyond the usual: the code is checked and tested in the "
                     "sandbox before any pull request"]


def _listed(items: list[str]) -> list[str]:
    shown = [f"- {item}" for item in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        shown.append(f"- … and {len(items) - MAX_ITEMS} more")
    return shown or ["- none"]


def cost_line(backend: Backend, cost: PlanCost) -> str:
    if backend != Backend.CLAUDE:
        return "$0: the offline generator writes the code; no model is called."
    line = (f"about ${cost.likely_usd:.2f} (one code round and the review), at most "
            f"${cost.at_most_usd:.2f} ({cost.calls_at_most} more model calls at most). "
            f"{inert(cost.note)}").strip()
    if 0 < cost.cap_usd < cost.at_most_usd:
        line += (". If it needs more than its cap, it stops before the call that would pass "
                 "it and waits for `/budget +N` from someone with write access.")
    return line


def plan_comment(*, request: IntegrationRequest, spec: TechnicalSpec, revision: int,
                 backend: Backend, cost: PlanCost, requester: str, expiry: timedelta,
                 changes: list[str] | None = None, feedback_by: str = "") -> str:
    """Revision ``revision`` of the plan, and how to approve or revise it."""
    lines = [f"### Plan for `{request.slug}`: revision {revision}", ""]
    if revision == 1 and requester:
        lines += [f"@{requester} plan-first is on for this request: no code is written and "
                  "no branch is made until a person with write access approves this plan.", ""]
    if revision > 1:
        what = "; ".join(changes or []) or "endpoints unchanged"
        lines += [f"Revised after feedback from {inert(feedback_by)}: {inert(what)}. The "
                  "feedback was given to the analysis with the request.", ""]
    lines += ["**What will be built**", "", inert(spec.summary[:2000]), "",
              "**Modules**", *_listed([f"{code_span(m.path)}: {inert(m.purpose[:300])}"
                                       for m in spec.modules]), "",
              "**Public API**", *_listed([f"{code_span(f.signature[:200])} "
                                          f"{inert(f.description[:300])}".rstrip()
                                          for f in spec.public_api]), "",
              "**Endpoints**", *_listed([f"{code_span(f'{e.method} {e.path}')} "
                                         f"{inert(e.description[:300])}".rstrip()
                                         for e in spec.endpoints]), "",
              "**Error handling**", *_listed([inert(e[:300]) for e in spec.error_handling]), "",
              "**Test plan**", *_listed([inert(t[:300]) for t in spec.test_plan]), "",
              "**Risks**", *_listed(risks(request, spec)), "",
              "**Estimated cost**", "", cost_line(backend, cost), "",
              f"**Next:** comment `/approve-plan {revision}` to have the code written from "
              f"this revision, or `/revise-plan <what to change>` for revision "
              f"{revision + 1} (an endpoint line such as `GET /path - what` adds one, `drop "
              f"GET /path` removes one). Only people with write access can answer. The plan "
              f"waits {span(expiry)}, then the request ends."]
    return "\n".join(lines)


def plan_reminder(*, revision: int, count: int, last: bool, left: timedelta,
                  mention: str) -> str:
    """A reminder as a new comment (an edited one notifies nobody)."""
    who = f"{mention} " if mention else ""
    end = (f" This is the last reminder: the request ends in {span(left)} without an answer."
           if last else f" It waits {span(left)} more.")
    return (f"{who}Reminder {count}: plan revision {revision} still waits for `/approve-plan "
            f"{revision}` or `/revise-plan <what to change>` from someone with write access."
            + end)
