"""The layout's rules that a linter does not see: every application error type comes from the
catalogue (``models.error_types``), and its names are unique. (The import contracts run as
``lint-imports`` in ``make test``.)"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
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


PACKAGES = ("workflows", "activities", "models", "rules", "registry", "infra", "starter", "forge")
BAD_IMPORTS = {  # one import per contract, each of a kind the layout forbids
    "workflows/saga.py": "import registry.store",
    "activities/faults.py": "import workflows.saga",
    "rules/semver.py": "import temporalio.workflow",
    "models/bump.py": "import rules.semver",
}


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
        timeout=300, check=False)


def test_each_import_contract_fails_the_build_on_a_bad_import(tmp_path: Path) -> None:
    """A copy of the tree with one forbidden import per contract: ``lint-imports`` exits 1
    and names every contract broken (the unchanged copy passes, so it is the imports)."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    clean = _lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for path, line in BAD_IMPORTS.items():
        target = tmp_path / path
        target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode == 1
    assert "Contracts: 0 kept, 4 broken." in broken.stdout, broken.stdout


def test_no_module_of_the_bot_is_over_400_lines() -> None:
    """Small modules that say what they hold (the forge's route modules may be larger)."""
    long = {str(p.relative_to(ROOT)): n for folder in
            ("workflows", "activities", "models", "rules", "starter", "registry", "infra")
            for p in (ROOT / folder).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}
