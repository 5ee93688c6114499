"""GitHub-shaped errors: the status codes and bodies GitHub's REST API answers with."""

from __future__ import annotations

from typing import Any

DOCS_URL = "https://docs.github.com/rest"


class GitHubError(Exception):
    """An error answer: ``status``, GitHub's ``message`` and optional ``errors`` list."""

    def __init__(self, status: int, message: str, *, errors: list[Any] | None = None,
                 headers: dict[str, str] | None = None, documentation_url: str = DOCS_URL) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.documentation_url = documentation_url

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message,
                                "documentation_url": self.documentation_url,
                                "status": str(self.status)}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def bad_credentials() -> GitHubError:
    return GitHubError(401, "Bad credentials")


def requires_authentication() -> GitHubError:
    return GitHubError(401, "Requires authentication")


def forbidden(message: str) -> GitHubError:
    return GitHubError(403, message)


def validation_failed(resource: str, code: str, field: str | None = None,
                      message: str | None = None) -> GitHubError:
    """422 "Validation Failed" with one entry in ``errors`` (GitHub's codes: missing,
    missing_field, invalid, already_exists, unprocessable, custom)."""
    error: dict[str, Any] = {"resource": resource, "code": code}
    if field is not None:
        error["field"] = field
    if message is not None:
        error["message"] = message
    return GitHubError(422, "Validation Failed", errors=[error])


def unprocessable(message: str) -> GitHubError:
    """422 with a plain message (GitHub's git-data endpoints answer like this)."""
    return GitHubError(422, message)


def bad_json(detail: str) -> GitHubError:
    return GitHubError(400, f"Problems parsing JSON: {detail}")
