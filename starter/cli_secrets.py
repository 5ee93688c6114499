"""``ccb secrets``: an integration's credentials in its own store (names listed, never values).

``set`` reads the value from stdin (so it stays out of the shell's history and the process
list), stores it for the integration and environment, then tells any request of that
integration that waits for its credentials to look again.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from infra.secrets import SecretStoreError, secret_store
from infra.settings import get_settings
from starter.cli_commands import _fail, _one_line, _run

ENV = Annotated[str, typer.Option("--env", help="the environment (development, staging, "
                                                "production)")]


def register(app: typer.Typer) -> None:
    """Add ``secrets set``, ``secrets list`` and ``secrets unset`` to ``app``."""
    secrets = typer.Typer(help="An integration's credentials (values from stdin; listed by "
                               "name only).", no_args_is_help=True)
    app.add_typer(secrets, name="secrets")

    @secrets.command("set")
    @_one_line
    def set_secret(slug: Annotated[str, typer.Argument(help="the integration's slug")],
                   name: Annotated[str, typer.Argument(help="the variable, e.g. ACME_API_KEY")],
                   env: ENV = "development") -> None:
        """Store NAME for the integration (the value is read from stdin)."""
        if sys.stdin.isatty():
            typer.echo(f"value of {name} (input hidden, then Enter): ", nl=False, err=True)
            import getpass

            value = getpass.getpass(prompt="")
        else:
            value = sys.stdin.read()
        value = value.rstrip("\r\n")
        try:
            secret_store().set(slug, name, value, environment=env)
        except SecretStoreError as exc:
            _fail(str(exc))
        typer.echo(f"ccb: {name} stored for {slug} in {env} ({len(value)} characters)")
        try:
            told = _run(get_settings(), lambda d: d.credentials_set(slug, env, [name]))
        except typer.Exit:  # stored all the same: a waiting request looks again by itself
            typer.echo("ccb: (a request waiting for it looks again at its next reminder)")
            return
        for workflow_id in told:
            typer.echo(f"ccb: told {workflow_id}, which waits for credentials, to look again")

    @secrets.command("list")
    @_one_line
    def list_secrets(slug: Annotated[str, typer.Argument(help="the integration's slug")],
                     env: Annotated[str | None, typer.Option(
                         "--env", help="one environment (default: every one)")] = None) -> None:
        """The names stored for the integration, per environment (never the values)."""
        store = secret_store()
        try:
            environments = [env] if env else store.environments(slug)
            rows = [(e, store.names(slug, e)) for e in environments]
        except SecretStoreError as exc:
            _fail(str(exc))
        if not any(names for _, names in rows):
            typer.echo(f"ccb: no credentials stored for {slug}"
                       + (f" in {env}" if env else "")
                       + f"; set one with `ccb secrets set {slug} NAME [--env E]`")
            return
        for environment, names in rows:
            for name in names:
                typer.echo(f"{environment}\t{name}")

    @secrets.command("unset")
    @_one_line
    def unset_secret(slug: Annotated[str, typer.Argument(help="the integration's slug")],
                     name: Annotated[str, typer.Argument(help="the variable")],
                     env: ENV = "development") -> None:
        """Remove NAME from the integration's store."""
        try:
            removed = secret_store().unset(slug, name, environment=env)
        except SecretStoreError as exc:
            _fail(str(exc))
        typer.echo(f"ccb: {name} removed for {slug} in {env}" if removed
                   else f"ccb: {name} was not stored for {slug} in {env}")
