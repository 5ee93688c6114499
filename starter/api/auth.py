"""Bearer tokens of the REST API: who calls, with which role (read, or operate = read + act).

Tokens come from ``CCB_API_TOKENS`` (JSON ``{"name": {"token": "...", "role": "read"}}``) or
the file ``CCB_API_TOKENS_FILE``; they are kept as ``SecretStr`` and compared in constant
time. With none configured the API refuses every call: it is never open by default.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, SecretStr, ValidationError

from infra.settings import Settings

CONFIGURE = ('set CCB_API_TOKENS to JSON like {"ops-bot": {"token": "<long random>", '
             '"role": "operate"}} (roles: read, operate), or CCB_API_TOKENS_FILE to a file '
             "holding it, and restart the starter")
MIN_TOKEN_LENGTH = 16


class Role(StrEnum):
    READ = "read"
    OPERATE = "operate"


class TokenEntry(BaseModel):
    token: SecretStr
    role: Role


@dataclass(frozen=True)
class Caller:
    """The token's name (the actor of audited actions) and its role."""

    name: str
    role: Role


class TokenConfigError(ValueError):
    """The configured tokens cannot be read: the sentence says what is wrong."""


def load_tokens(settings: Settings) -> dict[str, TokenEntry]:
    """The configured tokens by name; {} when none are configured."""
    text = settings.api_tokens.get_secret_value()
    if settings.api_tokens_file is not None:
        try:
            text = settings.api_tokens_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenConfigError(f"cannot read CCB_API_TOKENS_FILE "
                                   f"{settings.api_tokens_file}: {type(exc).__name__}") from None
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise TypeError
        tokens = {str(name): TokenEntry.model_validate(entry) for name, entry in raw.items()}
    except (ValueError, TypeError, ValidationError):
        raise TokenConfigError("the API tokens are not valid: " + CONFIGURE) from None
    short = sorted(n for n, e in tokens.items()
                   if len(e.token.get_secret_value()) < MIN_TOKEN_LENGTH)
    if short:
        raise TokenConfigError(f"API tokens must be at least {MIN_TOKEN_LENGTH} characters; "
                               f"too short: {', '.join(short)}")
    return tokens


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="ccb"'})


bearer = HTTPBearer(auto_error=False, description="a token of CCB_API_TOKENS")


def caller_for(tokens: dict[str, TokenEntry], presented: str) -> Caller | None:
    """The token's caller; every entry is compared (in constant time) so timing says nothing."""
    found: Caller | None = None
    for name, entry in tokens.items():
        if hmac.compare_digest(entry.token.get_secret_value().encode(), presented.encode()):
            found = Caller(name, entry.role)
    return found


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency admitting tokens of ``role`` (operate includes read)."""

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None
                         = Depends(bearer)) -> Caller:
        tokens = request.app.state.api_tokens
        if isinstance(tokens, TokenConfigError):
            raise _unauthorized(f"the REST API is not usable: {tokens}")
        if not tokens:
            raise _unauthorized("the REST API has no tokens configured: " + CONFIGURE)
        if credentials is None:
            raise _unauthorized("send a token as 'Authorization: Bearer <token>'")
        caller = caller_for(tokens, credentials.credentials)
        if caller is None:
            raise _unauthorized("the bearer token is not one of CCB_API_TOKENS")
        if role is Role.OPERATE and caller.role is not Role.OPERATE:
            raise HTTPException(403, f"token {caller.name!r} has the role read; this action "
                                     "needs a token with the role operate")
        return caller

    return dependency


READ = Depends(require(Role.READ))
OPERATE = Depends(require(Role.OPERATE))
