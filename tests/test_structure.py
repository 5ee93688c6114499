"""The layout's rules that a linter does not see: every application error type comes from the
catalogue (``models.error_types``), and its names are unique. (The import contracts run as
``lint-imports`` in ``make test``.)"""

from __future__ import annotations

import ast
from pathlib import Path

from models.error_types import ErrorType

ROOT = Path(__file__).resolve().parent.parent


def _string_types(path: Path) -> list[str]:
    """``type="..."`` string literals passed to a call in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(ROOT)}:{node.lineno} type={kw.value.value!r}"
            for node in ast.walk(tree) if isinstance(node, ast.Call)
            for kw in node.keywords
            if kw.arg == "type" and isinstance(kw.value, ast.Constant)
            and isinstance(kw.value.value, str) and kw.value.value[:1].isupper()]


def test_application_errors_take_their_type_from_the_catalogue() -> None:
    found = [hit for folder in ("workflows", "activities", "starter")
             for path in sorted((ROOT / folder).rglob("*.py")) for hit in _string_types(path)]
    assert found == [], "use ErrorType (models/error_types.py) instead of: " + ", ".join(found)


def test_the_catalogue_names_each_type_once() -> None:
    values = [v for k, v in vars(ErrorType).items() if k.isupper()]
    assert len(values) == len(set(values)) > 20
