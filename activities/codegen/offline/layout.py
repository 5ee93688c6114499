"""What every generated file shares: the names derived from the request, and the templates.

Every Python identifier here comes from ``rules.naming`` (strict ``[a-z0-9_]``); the
display name and other request text reach files only through ``offline.text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from activities.codegen.offline.operations import Operation
from activities.codegen.offline.text import MAX_LINE, one_line
from models.manifest import HealthCheck
from models.request import AuthType, IntegrationRequest
from rules.credentials import integration_prefix
from rules.naming import class_prefix, environment_prefix, package_name
from rules.untrusted_text import clean_untrusted

NO_AI_NOTICE = "Written by the offline generator from the request's fields; no AI model was used."
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEPENDENCIES = {"httpx": ">=0.27", "fastapi": ">=0.110", "uvicorn": ">=0.29"}
HEALTH = HealthCheck(path="/health/ready", interval_seconds=30.0, timeout_seconds=5.0)
DEFAULT_TIMEOUT_SECONDS = 10.0
_TIMEOUT_HINT = re.compile(
    r"time\s*-?\s*out[^0-9\n]{0,30}?(\d{1,3})\s*(?:s\b|secs?\b|seconds?\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Layout:
    """Names derived from the request, shared by every generated file."""

    request: IntegrationRequest
    version: str
    ops: list[Operation]
    revision_note: str = ""

    @property
    def slug(self) -> str:
        return self.request.slug

    @property
    def root(self) -> str:
        return f"integrations/{self.slug}"

    @property
    def pkg(self) -> str:
        return package_name(self.slug)

    @property
    def client_class(self) -> str:
        return f"{class_prefix(self.slug)}Client"

    @property
    def env_prefix(self) -> str:
        return integration_prefix(environment_prefix(self.slug))

    @property
    def credential_env(self) -> str:
        if self.request.auth == AuthType.NONE:
            return ""
        suffix = "API_KEY" if self.request.auth == AuthType.API_KEY else "TOKEN"
        return f"{self.env_prefix}_{suffix}"

    @property
    def credential_arg(self) -> str:
        return {AuthType.NONE: "", AuthType.API_KEY: "api_key"}.get(self.request.auth, "token")

    @property
    def base_url_env(self) -> str:
        return f"{self.env_prefix}_BASE_URL"

    @property
    def service_name(self) -> str:
        """The display name as the person wrote it (cleaned to one printable line)."""
        return one_line(self.request.service_name, 100) or self.slug

    @property
    def timeout(self) -> float:
        match = _TIMEOUT_HINT.search(clean_untrusted(self.request.requirements))
        return float(min(120, max(1, int(match[1])))) if match else DEFAULT_TIMEOUT_SECONDS

    def render(self, template: str, **values: str) -> str:
        """A template of ``TEMPLATES`` with the shared names and ``values`` substituted."""
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        return Template(text).substitute(notice=NO_AI_NOTICE, pkg=self.pkg,
                                         client_class=self.client_class, **values)


def def_line(indent: int, name: str, args: list[str], returns: str) -> str:
    """A ``def`` line, its arguments one per line when it would not fit."""
    pad = " " * indent
    line = f"{pad}def {name}({', '.join(args)}) -> {returns}:\n"
    if len(line) <= MAX_LINE + 1:
        return line
    return (f"{pad}def {name}(\n" + "".join(f"{pad}    {arg},\n" for arg in args)
            + f"{pad}) -> {returns}:\n")


def call_line(indent: int, start: str, callee: str, args: list[str]) -> str:
    """``<start><callee>(<args>)`` on one line, or one argument a line when it would not fit."""
    pad = " " * indent
    line = f"{pad}{start}{callee}({', '.join(args)})\n"
    if (len(line) <= MAX_LINE + 1 and "\n" not in line[:-1]) or not args:
        return line
    return (f"{pad}{start}{callee}(\n" + "".join(_argument_line(pad, arg) for arg in args)
            + f"{pad})\n")


def _argument_line(pad: str, arg: str) -> str:
    """One argument of a call, a keyword's value in parentheses on its own line when the
    argument does not fit (long parameter names: ``name=args.name``)."""
    line = f"{pad}    {arg},\n"
    name, eq, value = arg.partition("=")
    if len(line) <= MAX_LINE + 1 or not eq or not name.isidentifier():
        return line
    return f"{pad}    {name}=(\n{pad}        {value}\n{pad}    ),\n"
