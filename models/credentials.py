"""Credential names (never values) as workflows and activities pass them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CredentialQuery(BaseModel):
    slug: str
    environment: str = "development"
    names: list[str] = Field(default_factory=list, max_length=64)


class CredentialsSet(BaseModel):
    """The ``credentials_set`` signal: an operator stored some of a request's credentials."""

    slug: str
    environment: str = "development"
    names: list[str] = Field(default_factory=list)
