"""The integrations' secret store: credential values by integration and environment.

Values never travel through workflows, histories, logs or the registry: only names do. The
store is a directory (``CCB_SECRETS_DIR``, default ``<data dir>/secrets``, mode 0700) with
one JSON file per integration and environment (``<slug>/<environment>.json``, mode 0600),
written atomically. The deploy activity reads the values it hands to a container; the CLI
(``ccb secrets set/list/unset``) writes them; nothing else reads them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from rules.credentials import problem_with

_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class SecretStoreError(ValueError):
    """A name, slug or environment the store refuses; the message says what to do."""


class SecretStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _file(self, slug: str, environment: str) -> Path:
        if not _SLUG.match(slug):
            raise SecretStoreError(f"{slug!r} is not an integration slug (like acme-weather)")
        if not _ENVIRONMENT.match(environment):
            raise SecretStoreError(f"{environment!r} is not an environment name (like "
                                   "development)")
        return self.root / slug / f"{environment}.json"

    def _read(self, path: Path) -> dict[str, str]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise SecretStoreError(f"{path} is not a secrets file the bot wrote ({exc}); "
                                   "remove it and set the values again") from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, path: Path, values: dict[str, str]) -> None:
        for folder in (self.root, path.parent):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(values, out, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def set(self, slug: str, name: str, value: str, environment: str = "development") -> None:
        problem = problem_with(name)
        if problem:
            raise SecretStoreError(problem)
        if not value or "\x00" in value or len(value) > 16_384:
            raise SecretStoreError("the value must be 1 to 16384 characters without NUL bytes")
        path = self._file(slug, environment)
        values = self._read(path)
        values[name] = value
        self._write(path, values)

    def unset(self, slug: str, name: str, environment: str = "development") -> bool:
        path = self._file(slug, environment)
        values = self._read(path)
        if name not in values:
            return False
        del values[name]
        self._write(path, values)
        return True

    def names(self, slug: str, environment: str = "development") -> list[str]:
        return sorted(self._read(self._file(slug, environment)))

    def environments(self, slug: str) -> list[str]:
        folder = self._file(slug, "development").parent
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def values(self, slug: str, environment: str, names: list[str]) -> dict[str, str]:
        """The stored values of ``names`` (those set; never a bot-owned name)."""
        stored = self._read(self._file(slug, environment))
        return {n: stored[n] for n in names if n in stored and problem_with(n) is None}

    def missing(self, slug: str, environment: str, names: list[str]) -> list[str]:
        stored = self._read(self._file(slug, environment))
        return [n for n in names if n not in stored]


def secret_store() -> SecretStore:
    from infra.settings import get_settings

    settings = get_settings()
    return SecretStore(settings.secrets_dir or settings.data_dir / "secrets")
