"""The integration request: the typed form of the issue template's fields (SPEC "The request")."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

# A slug: DNS-label-like, starts with a letter (names: rules/naming.py).
SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"
MAX_ENDPOINTS = 50  # per request
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class IntegrationType(StrEnum):
    API_CLIENT = "api-client"
    WEBHOOK_RECEIVER = "webhook-receiver"
    SYNC_JOB = "sync-job"


class AuthType(StrEnum):
    NONE = "none"
    API_KEY = "api-key"
    BEARER = "bearer"
    OAUTH2 = "oauth2"


class SignatureEncoding(StrEnum):
    """How a webhook sender encodes its HMAC-SHA256 signature (the form's choice)."""

    PREFIXED_HEX = "sha256=hex"
    HEX = "hex"
    BASE64 = "base64"


class Endpoint(BaseModel):
    """One line of the Endpoints field: ``METHOD /path - what it does``."""

    method: str = Field(pattern="^(" + "|".join(HTTP_METHODS) + ")$")
    path: str = Field(pattern=r"^/\S*$", max_length=300)
    description: str = Field(default="", max_length=500)


class IntegrationRequest(BaseModel):
    """A validated integration request, ready for analysis."""

    service_name: str = Field(min_length=1, max_length=100)
    slug: str = Field(pattern=SLUG_PATTERN)
    integration_type: IntegrationType
    base_url: str
    auth: AuthType
    endpoints: list[Endpoint] = Field(min_length=1, max_length=MAX_ENDPOINTS)
    requirements: str = ""
    example_usage: str = ""
    signature: SignatureEncoding | None = None  # webhook receivers; None: from the text


class FieldProblem(BaseModel):
    """One thing wrong with a request: which field, and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ParsedRequest(BaseModel):
    """What the issue-form parser returns: a request, or every problem found."""

    request: IntegrationRequest | None = None
    problems: list[FieldProblem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.request is not None and not self.problems
