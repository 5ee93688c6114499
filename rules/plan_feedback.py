"""A plan revision's request: a person's ``/revise-plan`` feedback taken into the request
the analysis runs on again (pure).

The feedback is kept, delimited, at the end of the request's Requirements, so the model's
analysis reads it as the rest of the request (untrusted text, cleaned and delimited like
it). Lines in the endpoint form (``GET /path - what``) add that endpoint, and ``drop GET
/path`` removes one, so the offline generator's revision changes what it builds too; the
request always keeps at least one endpoint and at most ``MAX_ENDPOINTS``.
"""

from __future__ import annotations

import re

from models.request import MAX_ENDPOINTS, Endpoint, FieldProblem, IntegrationRequest
from rules.endpoint_lines import endpoints_of

MAX_REQUIREMENTS_CHARS = 60_000
_ADD = re.compile(r"^(?:[-*+][ \t]+)?(?:(?:also|please)[ \t]+)?add[ \t]+(?=[A-Za-z]+[ \t]+/)",
                  re.IGNORECASE)
_DROP = re.compile(r"^(?:[-*+][ \t]+)?(?:drop|remove|without)[ \t]+(?P<method>[A-Za-z]+)"
                   r"[ \t]+(?P<path>/\S*)[ \t]*$", re.IGNORECASE)


def _added(feedback: str) -> list[Endpoint]:
    """The endpoint lines of ``feedback`` that are well formed (others are plain words)."""
    found: list[Endpoint] = []
    for raw in feedback.split("\n"):
        line = _ADD.sub("", raw.strip())
        problems: list[FieldProblem] = []
        parsed = endpoints_of("feedback", line, problems)
        if len(parsed) == 1 and not problems:
            found.append(parsed[0])
    return found


def _dropped(feedback: str) -> set[tuple[str, str]]:
    return {(m["method"].upper(), m["path"]) for line in feedback.split("\n")
            if (m := _DROP.match(line.strip()))}


def revised_request(request: IntegrationRequest, feedback: str, *, revision: int,
                    reviewer: str) -> tuple[IntegrationRequest, list[str]]:
    """The request revision ``revision`` is analysed from, and what changed in its endpoints
    (words for the plan comment)."""
    dropped = _dropped(feedback)
    endpoints = list(request.endpoints)
    present = {(e.method, e.path) for e in endpoints}
    for endpoint in _added(feedback):
        if (endpoint.method, endpoint.path) not in present:
            endpoints.append(endpoint)
            present.add((endpoint.method, endpoint.path))
    kept = [e for e in endpoints if (e.method, e.path) not in dropped][:MAX_ENDPOINTS]
    kept = kept or request.endpoints[:1]
    changes = [f"added {e.method} {e.path}" for e in kept if e not in request.endpoints]
    changes += [f"dropped {e.method} {e.path}" for e in request.endpoints if e not in kept]
    note = (f"\n\n## Plan feedback for revision {revision} (from {reviewer[:60]})\n\n"
            f"{feedback.strip()}\n")
    requirements = (request.requirements + note)[-MAX_REQUIREMENTS_CHARS:]
    return request.model_copy(update={"endpoints": kept, "requirements": requirements}), changes
