"""Parse rendered GitHub issue-form bodies into typed requests, reporting every problem at once.

GitHub renders an issue form as ``### <Field label>`` sections, each followed by its value;
an empty optional field reads ``_No response_``. The body is untrusted: it is size-checked
before any other work, cleaned of hidden content (``clean_untrusted``), and its Base URL must
name a public host (``check_base_url``). Nothing here raises on bad input, and nothing here
touches the network.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import TypeVar

from pydantic import ValidationError

from models.request import (
    SLUG_PATTERN,
    AuthType,
    Endpoint,
    FieldProblem,
    IntegrationRequest,
    IntegrationType,
    ParsedRequest,
    SignatureEncoding,
)
from models.update_request import MAX_TEXT_CHARS, ChangeKind, ParsedUpdate, UpdateRequest
from rules.endpoint_lines import (
    ENDPOINT_FORM,
    MAX_ENDPOINTS,
    QUERY_FORM,
    endpoints_of,
)
from rules.issue_sections import BODY, MAX_BODY_BYTES, NO_RESPONSE, read_sections
from rules.naming import is_slug, slugify
from rules.url_safety import MAX_BASE_URL_CHARS, check_base_url

__all__ = [  # the parsers, and what the CLI and tests use of the form's rules
    "BODY",
    "ENDPOINT_FORM",
    "MAX_BODY_BYTES",
    "MAX_ENDPOINTS",
    "NO_RESPONSE",
    "QUERY_FORM",
    "ChangeKind",
    "ParsedUpdate",
    "UpdateRequest",
    "check_base_url",
    "parse_issue_form",
    "parse_update_form",
]

# Labels exactly as in .github/ISSUE_TEMPLATE/*.yml (tests check they match).
SERVICE_NAME = "Service name"
SLUG = "Slug"
INTEGRATION_TYPE = "Integration type"
BASE_URL = "Base URL"
AUTHENTICATION = "Authentication"
WEBHOOK_SIGNATURE = "Webhook signature"
ENDPOINTS = "Endpoints"
REQUIREMENTS = "Requirements"
EXAMPLE_USAGE = "Example usage"
REQUEST_LABELS = (
    SERVICE_NAME,
    SLUG,
    INTEGRATION_TYPE,
    BASE_URL,
    AUTHENTICATION,
    WEBHOOK_SIGNATURE,
    ENDPOINTS,
    REQUIREMENTS,
    EXAMPLE_USAGE,
)
REQUEST_REQUIRED = (SERVICE_NAME, INTEGRATION_TYPE, BASE_URL, AUTHENTICATION, ENDPOINTS)
INTEGRATION = "Integration"
KIND_OF_CHANGE = "Kind of change"
CHANGE = "Change"
UPDATE_LABELS = (INTEGRATION, KIND_OF_CHANGE, CHANGE, ENDPOINTS)
UPDATE_REQUIRED = (INTEGRATION, KIND_OF_CHANGE, CHANGE)

MAX_SERVICE_NAME_CHARS = 100


_INTERNAL = "Internal error while reading the issue"
_log = logging.getLogger(__name__)



# --- Reading the body -----------------------------------------------------------------------


def _missing(label: str) -> FieldProblem:
    return FieldProblem(
        field=label, message=f"{label} is required but empty; fill it in on the issue form"
    )


def _one_line(label: str, value: str, max_chars: int, problems: list[FieldProblem]) -> str | None:
    """A single-line field's value, or None after recording why it is not acceptable."""
    if "\n" in value:
        problems.append(
            FieldProblem(field=label, message=f"{label} must be a single line; remove the others")
        )
        return None
    if len(value) > max_chars:
        problems.append(
            FieldProblem(
                field=label,
                message=f"{label} is {len(value)} characters long; at most {max_chars} allowed",
            )
        )
        return None
    return value


def _text(label: str, value: str, problems: list[FieldProblem]) -> str:
    if len(value) > MAX_TEXT_CHARS:
        problems.append(
            FieldProblem(
                field=label,
                message=f"{label} is {len(value)} characters long; at most {MAX_TEXT_CHARS} "
                "allowed: shorten it or link to a document",
            )
        )
    return value


E = TypeVar("E", bound=StrEnum)


def _choice(label: str, value: str, choices: type[E], problems: list[FieldProblem]) -> E | None:
    """A dropdown's value as its enum member (case-insensitive)."""
    key = value.strip().strip("`").strip().lower()
    for member in choices:
        if member.value == key:
            return member
    known = ", ".join(member.value for member in choices)
    shown = value if len(value) <= 60 else value[:57] + "..."
    problems.append(
        FieldProblem(
            field=label, message=f"{shown!r} is not a known {label.lower()}; choose one of: {known}"
        )
    )
    return None


def _slug_field(value: str, problems: list[FieldProblem]) -> str | None:
    """The optional Slug field as given (lower-cased), or None after recording why not."""
    slug = _one_line(SLUG, value.strip().strip("`").strip().lower(), 60, problems)
    if slug is None:
        return None
    if not is_slug(slug):
        problems.append(
            FieldProblem(
                field=SLUG,
                message=f"{slug[:60]!r} is not a usable slug: it must start with a letter and "
                "have 2 to 40 lower-case letters, digits or hyphens (not ending in a hyphen), "
                "e.g. 'acme-weather'; or leave the Slug field empty to derive it from the name",
            )
        )
        return None
    return slug


def _service_name(
    value: str, slug_value: str, problems: list[FieldProblem]
) -> tuple[str, str] | None:
    """The service name as written, and the slug: the Slug field, else derived from the name
    (any script transliterated, see ``rules.naming.slug_for``)."""
    name = _one_line(SERVICE_NAME, value, MAX_SERVICE_NAME_CHARS, problems)
    if name is None:
        return None
    name = " ".join(name.split())
    if slug_value:
        slug = _slug_field(slug_value, problems)
        return (name, slug) if slug is not None else None
    slug = slugify(name)
    if not slug:
        problems.append(
            FieldProblem(
                field=SERVICE_NAME,
                message=f"no identifier can be derived from {name[:60]!r} (it has no letters or "
                "digits in any script); add a `### Slug` field to the issue with the identifier "
                "to use, e.g. 'acme-weather': 2 to 40 lower-case letters, digits or hyphens, "
                "starting with a letter",
            )
        )
        return None
    return name, slug


def _validation_problems(exc: ValidationError) -> list[FieldProblem]:
    """Safety net: a model check the field rules above did not catch, as problems."""
    return [
        FieldProblem(
            field=BODY, message=f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
        )
        for error in exc.errors()
    ]


def _parse_request(body: object) -> ParsedRequest:
    values, problems = read_sections(body, REQUEST_LABELS)
    if problems and not values:
        return ParsedRequest(problems=problems)
    for label in REQUEST_REQUIRED:
        if not values.get(label):
            problems.append(_missing(label))
    named = (_service_name(values[SERVICE_NAME], values.get(SLUG, ""), problems)
             if values.get(SERVICE_NAME) else None)
    if not values.get(SERVICE_NAME) and values.get(SLUG):
        _slug_field(values[SLUG], problems)
    kind = auth = base_url = None
    if values.get(INTEGRATION_TYPE):
        kind = _choice(INTEGRATION_TYPE, values[INTEGRATION_TYPE], IntegrationType, problems)
    if values.get(AUTHENTICATION):
        auth = _choice(AUTHENTICATION, values[AUTHENTICATION], AuthType, problems)
    if values.get(BASE_URL):
        base_url = _one_line(BASE_URL, values[BASE_URL], MAX_BASE_URL_CHARS, problems)
        url_problem = check_base_url(base_url) if base_url is not None else None
        if url_problem:
            problems.append(FieldProblem(field=BASE_URL, message=url_problem))
            base_url = None
    signature = (_choice(WEBHOOK_SIGNATURE, values[WEBHOOK_SIGNATURE], SignatureEncoding,
                         problems) if values.get(WEBHOOK_SIGNATURE) else None)
    endpoints = (endpoints_of(ENDPOINTS, values[ENDPOINTS], problems)
                 if values.get(ENDPOINTS) else [])
    if kind == IntegrationType.SYNC_JOB and endpoints:
        _sync_source(endpoints, problems)
    requirements = _text(REQUIREMENTS, values.get(REQUIREMENTS, ""), problems)
    example_usage = _text(EXAMPLE_USAGE, values.get(EXAMPLE_USAGE, ""), problems)
    if problems or named is None or kind is None or auth is None or base_url is None:
        return ParsedRequest(problems=problems)
    try:
        request = IntegrationRequest(
            service_name=named[0],
            slug=named[1],
            integration_type=kind,
            base_url=base_url,
            auth=auth,
            endpoints=endpoints,
            requirements=requirements,
            example_usage=example_usage,
            signature=signature,
        )
    except ValidationError as exc:
        return ParsedRequest(problems=_validation_problems(exc))
    return ParsedRequest(request=request)


NO_RECORDS = ("HEAD", "OPTIONS")  # answers without a body: nothing for a sync job to page


def _sync_source(endpoints: list[Endpoint], problems: list[FieldProblem]) -> None:
    """A sync job reads records from one of its endpoints: one must answer with them."""
    if all(e.method in NO_RECORDS for e in endpoints):
        methods = ", ".join(sorted({e.method for e in endpoints}))
        problems.append(FieldProblem(field=ENDPOINTS, message=(
            f"a sync job pages through the records an endpoint returns, but yours are only "
            f"{methods}, which answer without records: list the endpoint it reads (a GET, "
            "usually), e.g. `GET /items?cursor - the items to sync`")))


def _parse_update(body: object) -> ParsedUpdate:
    values, problems = read_sections(body, UPDATE_LABELS)
    if problems and not values:
        return ParsedUpdate(problems=problems)
    for label in UPDATE_REQUIRED:
        if not values.get(label):
            problems.append(_missing(label))
    slug = kind = None
    if values.get(INTEGRATION):
        slug = _one_line(INTEGRATION, values[INTEGRATION].strip("`").strip().lower(), 40, problems)
        if slug is not None and not re.fullmatch(SLUG_PATTERN, slug):
            problems.append(
                FieldProblem(
                    field=INTEGRATION,
                    message=f"{slug[:60]!r} is not an integration identifier; give the slug "
                    "as listed by `ccb list`, e.g. acme-weather",
                )
            )
            slug = None
    if values.get(KIND_OF_CHANGE):
        kind = _choice(KIND_OF_CHANGE, values[KIND_OF_CHANGE], ChangeKind, problems)
    change = _text(CHANGE, values.get(CHANGE, ""), problems)
    endpoints = (endpoints_of(ENDPOINTS, values[ENDPOINTS], problems)
                 if values.get(ENDPOINTS) else [])
    if problems or slug is None or kind is None:
        return ParsedUpdate(problems=problems)
    try:
        update = UpdateRequest(slug=slug, kind=kind, change=change, endpoints=endpoints)
    except ValidationError as exc:
        return ParsedUpdate(problems=_validation_problems(exc))
    return ParsedUpdate(update=update)


def _internal_problem(exc: Exception) -> FieldProblem:
    _log.exception("issue-form parser failed")
    return FieldProblem(
        field=BODY,
        message=f"{_INTERNAL} ({type(exc).__name__}); please report this issue to the maintainers",
    )


def parse_issue_form(body: str | bytes | None) -> ParsedRequest:
    """Parse a rendered integration-request issue body; never raises.

    Returns the request, or every problem found (field label + what to do about it).
    """
    try:
        return _parse_request(body)
    except Exception as exc:  # noqa: BLE001 - a bug must become a message, not a traceback
        return ParsedRequest(problems=[_internal_problem(exc)])


def parse_update_form(body: str | bytes | None) -> ParsedUpdate:
    """Parse a rendered integration-update issue body; never raises."""
    try:
        return _parse_update(body)
    except Exception as exc:  # noqa: BLE001 - a bug must become a message, not a traceback
        return ParsedUpdate(problems=[_internal_problem(exc)])
