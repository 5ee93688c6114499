"""The PyGithub client of this process, built from settings and cached.

Three ways to authenticate, chosen by settings: a token (``GITHUB_TOKEN``), a GitHub App
installation (``CCB_GITHUB_APP_ID`` + private key file + installation id), or, when neither
is set, the local forge's bot token read from ``<data_dir>/forge/tokens.json``. Secrets are
read here, where they are used, and never logged or passed in activity inputs.

PyGithub's own retrying is off (``retry=None``): Temporal owns retries, guided by
``activities.github_errors``.

The one client is shared by the worker's activity threads, but PyGithub's connection object is
not thread-safe (it stores each request's verb/URL/body between two calls: PyGithub#2052, and
under load threads were seen getting each other's answers). So calls go through
``github_calls()``, which holds a process-wide lock; GitHub also asks integrators to make
requests serially rather than concurrently (secondary rate limits).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from github import Auth, Github
from github.Repository import Repository
from temporalio.exceptions import ApplicationError

from infra.settings import Settings, get_settings
from models.error_types import ErrorType

FORGE_BOT = "ccb-bot"
REQUEST_TIMEOUT_SECONDS = 30
# Real GitHub asks integrators to pace requests (its secondary rate limits); PyGithub's defaults
# do that. The local forge has no such limits, so its clients do not pace.
GITHUB_SECONDS_BETWEEN_REQUESTS = 0.25
GITHUB_SECONDS_BETWEEN_WRITES = 1.0

_lock = threading.Lock()
_calls = threading.RLock()
_client: Github | None = None


class GitHubNotConfigured(ApplicationError):
    """Credentials are missing or unreadable: nothing to retry until someone fixes settings."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type=ErrorType.GITHUB_NOT_CONFIGURED, non_retryable=True)


def make_github(base_url: str, auth: Auth.Auth, *, paced: bool = True) -> Github:
    """A PyGithub client for ``base_url`` with retries off, a timeout, and lazy objects."""
    # PyGithub's DEBUG log prints whole response bodies, App installation tokens included.
    pygithub_log = logging.getLogger("github")
    if pygithub_log.getEffectiveLevel() < logging.INFO:
        pygithub_log.setLevel(logging.INFO)
    return Github(
        base_url=base_url.rstrip("/"),
        auth=auth,
        retry=None,
        timeout=REQUEST_TIMEOUT_SECONDS,
        seconds_between_requests=GITHUB_SECONDS_BETWEEN_REQUESTS if paced else None,
        seconds_between_writes=GITHUB_SECONDS_BETWEEN_WRITES if paced else None,
        lazy=True,  # get_repo/get_issue/get_pull cost no request until a field is read
    )


def token_client(base_url: str, token: str, *, paced: bool = True) -> Github:
    """A client for ``base_url`` authenticated with ``token``."""
    return make_github(base_url, Auth.Token(token), paced=paced)


def forge_tokens_path(settings: Settings) -> Path:
    return settings.data_dir / "forge" / "tokens.json"


def forge_bot_token(settings: Settings) -> str:
    """The local forge's token for the bot account (written by the forge when it starts)."""
    path = forge_tokens_path(settings)
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GitHubNotConfigured(
            f"no GitHub credentials and no local forge tokens at {path}: set GITHUB_TOKEN "
            "(or CCB_GITHUB_APP_ID with its key), or start the local forge (`ccb up`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise GitHubNotConfigured(
            f"cannot read the local forge tokens at {path} ({type(exc).__name__}): "
            "restart the forge so it writes the file again"
        ) from None
    token = tokens.get(FORGE_BOT) if isinstance(tokens, dict) else None
    if not isinstance(token, str) or not token:
        raise GitHubNotConfigured(
            f"the local forge tokens at {path} have no {FORGE_BOT!r} entry: restart the forge"
        )
    return token


def app_installation_auth(settings: Settings) -> Auth.Auth:
    """GitHub App installation auth from the App id, its private key file and installation id."""
    if not settings.github_app_private_key_path or not settings.github_installation_id:
        raise GitHubNotConfigured(
            "CCB_GITHUB_APP_ID is set but CCB_GITHUB_APP_PRIVATE_KEY_PATH or "
            "CCB_GITHUB_INSTALLATION_ID is empty: set both (or use GITHUB_TOKEN instead)"
        )
    key_path = Path(settings.github_app_private_key_path)
    try:
        private_key = key_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GitHubNotConfigured(
            f"cannot read the GitHub App private key at {key_path} ({type(exc).__name__}): "
            "check CCB_GITHUB_APP_PRIVATE_KEY_PATH"
        ) from None
    if not settings.github_installation_id.isdigit():
        raise GitHubNotConfigured(
            "CCB_GITHUB_INSTALLATION_ID must be the installation's numeric id"
        )
    app = Auth.AppAuth(settings.github_app_id, private_key)
    try:
        app.create_jwt()  # fail here, clearly, rather than on the first request
    except Exception:  # noqa: BLE001 - jwt/cryptography raise several kinds; none is retryable
        raise GitHubNotConfigured(
            f"the GitHub App private key at {key_path} is not a usable PEM RSA key: download "
            "a new one from the App's settings and check CCB_GITHUB_APP_PRIVATE_KEY_PATH"
        ) from None
    return app.get_installation_auth(int(settings.github_installation_id))


def client_from_settings(settings: Settings) -> Github:
    """The client the settings describe: token, GitHub App, or the local forge's bot."""
    token = settings.github_token.get_secret_value()
    if token:
        return make_github(settings.github_base_url, Auth.Token(token))
    if settings.github_app_id:
        return make_github(settings.github_base_url, app_installation_auth(settings))
    return make_github(settings.github_base_url, Auth.Token(forge_bot_token(settings)),
                       paced=False)


def github_client() -> Github:
    """This process's client (one per process, built on first use, shared by all threads)."""
    global _client
    with _lock:
        if _client is None:
            _client = client_from_settings(get_settings())
        return _client


@contextmanager
def github_calls() -> Iterator[Github]:
    """Hold the process's client for a series of calls (one thread at a time, see above)."""
    with _calls:
        yield github_client()


def reset_github_client() -> None:
    """Forget the cached client, so the next call reads settings again (after they change)."""
    global _client
    with _calls, _lock:
        if _client is not None:
            _client.close()
        _client = None


def repository(full_name: str) -> Repository:
    """The repository ``owner/name`` through this process's client (no request is made).

    Use it inside ``github_calls()`` (every activity does, through ``@github_activity``)."""
    return github_client().get_repo(full_name)
