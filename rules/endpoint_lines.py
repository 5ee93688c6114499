"""The Endpoints field: one ``METHOD /path - what it does`` line per endpoint, each problem
reported with its line number (at most ``MAX_LINE_PROBLEMS``, then a summary)."""

from __future__ import annotations

import re

from models.request import HTTP_METHODS, MAX_ENDPOINTS, Endpoint, FieldProblem
from rules.endpoints import split_endpoint_path
from rules.issue_sections import FENCE

MAX_PATH_CHARS = 300
MAX_DESCRIPTION_CHARS = 500
MAX_LINE_PROBLEMS = 10  # per field; the rest are summarised in one more problem
ENDPOINT_FORM = "`METHOD /path - what it does`, e.g. `GET /forecast/{city} - current forecast`"
QUERY_FORM = "`name`, `name:type` or `name=value` joined by '&', e.g. `?latitude:float&hourly`"
_ENDPOINT_LINE = re.compile(
    r"^(?:[-*+][ \t]+)?(?P<method>[A-Za-z]+)[ \t]+(?P<path>\S+)"
    r"(?:[ \t]+[-\u2013\u2014:][ \t]*(?P<description>.*))?$"
)
_PATH = re.compile(r"^/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:@/%{}?\[\]]*$")


def _endpoint_problem(number: int, line: str, match: re.Match[str] | None) -> str | None:
    shown = line if len(line) <= 80 else line[:77] + "..."
    if match is None:
        return f"line {number} {shown!r} is not in the form {ENDPOINT_FORM}"
    method, path = match.group("method").upper(), match.group("path")
    description = (match.group("description") or "").strip()
    if method not in HTTP_METHODS:
        return (
            f"line {number}: {match.group('method')!r} is not an HTTP method; use one of "
            f"{', '.join(HTTP_METHODS)} in the form {ENDPOINT_FORM}"
        )
    if len(path) > MAX_PATH_CHARS:
        return f"line {number}: the path is longer than {MAX_PATH_CHARS} characters"
    if not _PATH.match(path):
        return (
            f"line {number}: the path {path[:80]!r} must start with a single '/' and hold only "
            f"URL path characters (write parameters as {{id}}), in the form {ENDPOINT_FORM}"
        )
    if len(description) > MAX_DESCRIPTION_CHARS:
        return f"line {number}: the description is longer than {MAX_DESCRIPTION_CHARS} characters"
    shape = split_endpoint_path(path)
    if shape.problems:
        return (
            f"line {number}: {shape.problems[0]}; write query parameters after '?' as "
            f"{QUERY_FORM}"
        )
    return None


def endpoints_of(label: str, value: str, problems: list[FieldProblem]) -> list[Endpoint]:
    """Parse ``METHOD /path - what it does`` lines; blank lines and code fences are skipped."""
    endpoints: list[Endpoint] = []
    line_problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(value.split("\n"), start=1):
        line = raw.strip()
        if not line or FENCE.match(line):
            continue
        match = _ENDPOINT_LINE.match(line)
        problem = _endpoint_problem(number, line, match)
        if problem is None and match is not None:
            method, path = match.group("method").upper(), match.group("path")
            if (method, path) in seen:
                problem = f"line {number} repeats line {seen[method, path]} ({method} {path})"
            else:
                seen[method, path] = number
                description = (match.group("description") or "").strip()
                endpoints.append(Endpoint(method=method, path=path, description=description))
        if problem is not None:
            line_problems.append(problem)
    for message in line_problems[:MAX_LINE_PROBLEMS]:
        problems.append(FieldProblem(field=label, message=message))
    if len(line_problems) > MAX_LINE_PROBLEMS:
        more = len(line_problems) - MAX_LINE_PROBLEMS
        problems.append(
            FieldProblem(field=label, message=f"{more} more lines are malformed; fix them too")
        )
    if len(endpoints) > MAX_ENDPOINTS:
        problems.append(
            FieldProblem(
                field=label,
                message=f"{len(endpoints)} endpoints listed; at most {MAX_ENDPOINTS} allowed: "
                "request the most important ones first",
            )
        )
    elif not endpoints and not line_problems:
        problems.append(
            FieldProblem(
                field=label,
                message=f"no endpoints listed; give one per line in the form {ENDPOINT_FORM}",
            )
        )
    return endpoints
