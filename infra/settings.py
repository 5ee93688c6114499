"""The one place that reads the environment: every setting of the bot, prefixed ``CCB_``."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.creation import ApprovalTimes
from models.deployment import Environment
from rules.codeowners import LOGIN_NAME as LOGIN
from rules.promotion import DEFAULT_ORDER, parse_environments
from rules.task_queues import HOST_NAME, Capability, parse_capabilities


def _check_host(host: str, named: str, limit: str = "") -> None:
    """A deploy host's name (it becomes part of a task queue's name) or the sentence why not."""
    if host and not HOST_NAME.match(host):
        raise ValueError(f"{named} is not a host name: use lowercase letters, digits and "
                         f"dashes{' ' + limit if limit else ''}")


class Settings(BaseSettings):
    """Settings read once from the environment (and an optional ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="CCB_", env_file=".env", extra="ignore")

    # Where the embedded stack keeps its files (registry, Temporal's SQLite, logs, forge repos).
    data_dir: Path = Path(".data")
    # Any SQLAlchemy URL; empty means a SQLite file under data_dir.
    database_url: SecretStr = SecretStr("")  # may hold a password

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "ccb"
    # Secured Temporal (Temporal Cloud, a cluster with TLS); infra/temporal_tls.py checks them.
    # TLS is on when temporal_tls is true or any setting below is set: an API key always
    # travels over TLS (Temporal Cloud requires it). Empty files mean the system's CA roots
    # and no client certificate.
    temporal_tls: bool = False
    temporal_tls_ca_file: str = ""  # PEM of the CA that signed the server's certificate
    temporal_tls_cert_file: str = ""  # mutual TLS: the client certificate (PEM) ...
    temporal_tls_key_file: str = ""  # ... and its unencrypted private key (PEM)
    temporal_tls_server_name: str = ""  # the name to expect on the server's certificate
    temporal_api_key: SecretStr = SecretStr("")  # Temporal Cloud API key
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    # The public address of the Web UI; derived from temporal_ui_port when empty.
    temporal_ui_url: str = ""

    # The starter's HTTP server (webhooks, REST API, health)
    starter_host: str = "127.0.0.1"
    starter_port: int = 8080

    # The REST API's bearer tokens: JSON {"name": {"token": "...", "role": "read|operate"}}
    # inline, or in a file (the file wins). None configured: the API refuses every call.
    api_tokens: SecretStr = SecretStr("")
    api_tokens_file: Path | None = None
    # Prometheus scrape endpoints (issue 14), on `<metrics_host>:<port>`; 0 turns one off.
    # The worker's serves the Temporal SDK's metrics and the bot's own (workflows and
    # activities); the starter serves its own at /metrics and its SDK client's on this port.
    metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    starter_sdk_metrics_port: int = Field(default=0, ge=0, le=65535)
    # OpenTelemetry traces over OTLP/HTTP (e.g. http://127.0.0.1:4318/v1/traces); empty: off.
    otlp_endpoint: str = ""

    # GitHub: a token (or a GitHub App) means real GitHub; neither means the local forge.
    github_token: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("GITHUB_TOKEN", "CCB_GITHUB_TOKEN")
    )
    github_api_url: str = ""  # empty: api.github.com with a token, the local forge without
    github_repo: str = "demo/integrations"  # owner/name of the repository the bot works in
    github_app_id: str = ""
    github_app_private_key_path: str = ""
    github_installation_id: str = ""
    bot_login: str = "ccb-bot"  # the bot's own account: its events are ignored
    webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("GITHUB_WEBHOOK_SECRET", "CCB_WEBHOOK_SECRET"),
    )
    webhook_max_body_bytes: int = 1_048_576

    # The local forge (a GitHub-compatible API served by the project when no token is set)
    forge_host: str = "127.0.0.1"
    forge_port: int = 8090

    # Logging
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    # Deployment (issue 6): proxy port per environment overriding 8500/8501/8502, e.g.
    # '{"development": 18500}'; feature flags per environment overriding models/flags.py's
    # defaults, e.g. '{"production": {"auto_deployment": true}}'.
    proxy_ports: dict[str, int] = Field(default_factory=dict)
    feature_flags: dict[str, dict[str, bool | str]] = Field(default_factory=dict)
    # The environments merged code is promoted through, first to last (issue 13): it deploys
    # to the first, a promotion moves it on (each environment's `promotion` flag says how).
    environments: str = DEFAULT_ORDER
    # Asked to review every pull request the bot opens (comma-separated logins), besides the
    # people the repository's CODEOWNERS names for the changed files.
    reviewers: str = ""
    # Mentioned on every critical incident issue the health monitor opens (comma-separated
    # logins), so the people on call are notified once per incident.
    on_call: str = ""
    # How deployments move per environment, overriding DeployTuning's defaults (10/50/100 %,
    # 5 s pauses, a 30 s window), e.g. '{"development": {"window_s": 5, "step_pause_s": 1}}'.
    # A deployment that names its own tuning (the CLI, a rollback) keeps it.
    deploy_tuning: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Which deploy host an environment deploys to (issue 16), e.g. '{"production": "edge-1"}':
    # its steps go to the task queue `<task_queue>-deploy-edge-1`, served by the worker started
    # there with CCB_DEPLOY_HOST=edge-1. Environments not named use `<task_queue>-deploy`.
    deploy_hosts: dict[str, str] = Field(default_factory=dict)
    # The deploy host this worker is (empty: the default host).
    deploy_host: str = ""
    # What this worker serves: control, sandbox, deploy (comma-separated) or all.
    serve: str = "all"

    # Temporal payloads (issue 16): the encryption keys ("id:base64key,..." — first encrypts,
    # all decrypt), else the key file (empty: <data_dir>/payload-keys, made by `ccb up`);
    # payloads over payload_claim_bytes go to the payload store (empty: the registry's
    # table; dir:/path a directory) and history keeps their digest (0: never).
    payload_keys: SecretStr = SecretStr("")
    payload_keys_file: Path | None = None
    payload_store: str = ""
    payload_claim_bytes: int = Field(default=512, ge=0)
    # How often the schedule `ccb-reverify` re-checks every ACTIVE integration (0: never).
    reverify_interval_hours: float = Field(default=24.0, ge=0)
    # Where `ccb up` serves the codec endpoint the Web UI decodes histories through.
    codec_port: int = 8234

    # The integrations' secret store (``ccb secrets``); empty: <data_dir>/secrets.
    secrets_dir: Path | None = None

    # Generated code runs only in the Docker sandbox. Without an engine, tests and deployments
    # refuse, unless the operator accepts the weaker local runner (never as root) here.
    sandbox_allow_local: bool = False

    # How long a request waits for a person's decision on its pull request before it is
    # closed, and how often the people watching it are reminded meanwhile (hours).
    approval_expiry_hours: float = Field(default=168.0, gt=0)
    approval_reminder_hours: float = Field(default=24.0, gt=0)

    # Plan-first for every request of this repository: the analysis is posted as a plan and
    # no code is written until a person approves it (one request turns it on with the label
    # `plan-first`).
    plan_first: bool = False

    # Fault injection for crash tests: "point=seconds,point=seconds" pauses at named points.
    fault_pause: str = ""

    # Claude
    # The key is read where it is used (the Claude activities); SecretStr keeps it out of reprs.
    anthropic_api_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "CCB_ANTHROPIC_API_KEY"),
    )
    anthropic_base_url: str = "https://api.anthropic.com"  # tests point it at a local server
    claude_model: str = "claude-sonnet-4-6"  # the model id lives here, never in code
    claude_max_tokens: int = Field(default=16_000, gt=0)
    claude_timeout_seconds: float = Field(default=420.0, gt=0)  # one non-streamed answer
    # Prices in USD per million tokens by model id (prefix), overriding the built-in table:
    # '{"claude-x": {"input": 3, "output": 15, "cache_write": 3.75, "cache_read": 0.3}}'
    claude_prices: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Tokens (all four kinds) one integration request may spend; 0 means no limit.
    token_budget_per_request: int = Field(
        default=2_000_000, ge=0,
        validation_alias=AliasChoices("CCB_TOKEN_BUDGET", "CCB_TOKEN_BUDGET_PER_REQUEST"),
    )
    # Dollars (USD, the recorded cost of its calls) one request may spend; 0 means no cap.
    # Checked before every model call: a request at its cap waits for a writer's `/budget +N`.
    dollar_budget_per_request: float = Field(default=10.0, ge=0)
    # Per-repository caps overriding it, e.g. '{"acme/integrations": 2.5}'.
    dollar_budget_by_repo: dict[str, float] = Field(default_factory=dict)
    # The most one `/budget` may add to a request's cap (USD).
    budget_raise_max_usd: float = Field(default=20.0, gt=0)

    @field_validator("dollar_budget_by_repo")
    @classmethod
    def _repo_caps(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [repo for repo, cap in value.items() if not cap >= 0]
        if bad:
            raise ValueError(f"CCB_DOLLAR_BUDGET_BY_REPO: {bad[0][:60]!r}'s cap must be a "
                             "number of dollars, 0 or more")
        return value

    @field_validator("temporal_ui_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: str) -> str:
        parse_environments(value)  # the sentence naming what is wrong
        return value

    @field_validator("reviewers", "on_call")
    @classmethod
    def _logins(cls, value: str, info: ValidationInfo) -> str:
        bad = [n for n in value.split(",") if n.strip() and not LOGIN.match(n.strip())]
        if bad:
            raise ValueError(f"CCB_{(info.field_name or '').upper()} names "
                             f"{bad[0].strip()[:40]!r}, which is not a GitHub login: list "
                             "logins, comma-separated, without '@'")
        return value

    @property
    def reviewer_logins(self) -> list[str]:
        return list(dict.fromkeys(n.strip() for n in self.reviewers.split(",") if n.strip()))

    @property
    def on_call_logins(self) -> list[str]:
        return list(dict.fromkeys(n.strip() for n in self.on_call.split(",") if n.strip()))

    @property
    def environment_order(self) -> tuple[Environment, ...]:
        return parse_environments(self.environments)

    @field_validator("deploy_host")
    @classmethod
    def _host_name(cls, value: str) -> str:
        _check_host(value, f"CCB_DEPLOY_HOST {value!r}", "(up to 41)")
        return value

    @field_validator("deploy_hosts")
    @classmethod
    def _host_names(cls, value: dict[str, str]) -> dict[str, str]:
        for environment, host in value.items():
            _check_host(host, f"CCB_DEPLOY_HOSTS: {environment}'s host {host!r}")
        return value

    @field_validator("serve")
    @classmethod
    def _capabilities(cls, value: str) -> str:
        parse_capabilities(value)  # raises the sentence that names the bad word
        return value

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        """What this process's worker serves (``CCB_SERVE``)."""
        return parse_capabilities(self.serve)

    @property
    def registry_url(self) -> str:
        """The SQLAlchemy URL of the registry."""
        if self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'registry.db').resolve()}"

    @property
    def uses_forge(self) -> bool:
        """True when no GitHub credentials are set: the bot talks to the local forge."""
        return not (self.github_token.get_secret_value() or self.github_app_id)

    @property
    def forge_api_url(self) -> str:
        return f"http://{self.forge_host}:{self.forge_port}/api/v3"

    @property
    def github_base_url(self) -> str:
        """The REST base URL PyGithub is pointed at."""
        if self.github_api_url:
            return self.github_api_url.rstrip("/")
        return self.forge_api_url if self.uses_forge else "https://api.github.com"

    @property
    def ui_url(self) -> str:
        """The Temporal Web UI's base address."""
        return self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}"

    def workflow_ui_url(self, workflow_id: str) -> str:
        """A link to one workflow in the Temporal Web UI."""
        return f"{self.ui_url}/namespaces/{self.temporal_namespace}/workflows/{workflow_id}"

    def approval_times(self) -> ApprovalTimes:
        """The decision wait's expiry and reminder interval, as workflow input carries them."""
        return ApprovalTimes(approval_expiry=timedelta(hours=self.approval_expiry_hours),
                             reminder_interval=timedelta(hours=self.approval_reminder_hours))

    def dollar_cap(self, repo: str) -> float:
        """The dollar cap of a request in ``repo``: its override, else the per-request one."""
        return self.dollar_budget_by_repo.get(repo, self.dollar_budget_per_request)

    def fault_pauses(self) -> dict[str, float]:
        """The parsed ``fault_pause`` setting: point name -> seconds."""
        pauses: dict[str, float] = {}
        for item in filter(None, (p.strip() for p in self.fault_pause.split(","))):
            name, _, seconds = item.partition("=")
            pauses[name.strip()] = float(seconds or 0)
        return pauses


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
