"""Syntax and the import/call policy of generated Python, read with ``ast`` (never run).

Forbidden anywhere: importing ``subprocess``, ``ctypes`` and friends; using ``os.system``,
``os.popen``, the ``os.exec*``/``spawn*`` family, ``eval``, ``exec``, ``compile``,
``__import__``, ``importlib.import_module`` and pickle/marshal loading (called or merely
referenced, so ``f = eval`` is caught too). Forbidden at import time: ``socket`` imported at
module level, and any call at module level (including class bodies, decorators and default
values, excluding ``if __name__ == "__main__"``) into a network library: httpx, requests,
urllib, urllib3, http.client, socket, aiohttp... A policy is a floor, not a sandbox: the
sandbox is what contains code that slips past it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from models.codegen import Finding

FORBIDDEN_MODULES = frozenset({"subprocess", "ctypes", "cffi", "pty", "_posixsubprocess"})
_OS_PROCESS = {f"os.{name}" for name in (
    "system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp",
    "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
    "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe")}
FORBIDDEN_CALLS = frozenset(_OS_PROCESS | {
    "eval", "exec", "compile", "__import__", "importlib.import_module", "importlib.__import__",
    "pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads",
    "cPickle.load", "cPickle.loads", "dill.load", "dill.loads", "marshal.load", "marshal.loads",
    "shelve.open",
})
_BUILTIN_NAMES = frozenset({"eval", "exec", "compile", "__import__"})
NETWORK_MODULES = ("httpx", "requests", "urllib", "urllib3", "http.client", "socket", "aiohttp",
                   "ftplib", "smtplib", "telnetlib", "websocket", "websockets", "ssl")
# Plain value constructors of network libraries: they do not touch the network.
_PURE = frozenset({"httpx.Timeout", "httpx.Limits", "httpx.URL", "httpx.Headers",
                   "httpx.QueryParams", "httpx.Cookies"})


def _finding(path: str, node: ast.AST, code: str, message: str) -> Finding:
    return Finding(tool="policy", path=path, line=getattr(node, "lineno", None), code=code,
                   message=message)


def syntax_finding(path: str, source: str) -> Finding | None:
    """A finding for source that does not parse (None when it parses)."""
    try:
        ast.parse(source, filename=path)
    except SyntaxError as exc:
        return Finding(tool="ast", path=path, line=exc.lineno, code="syntax-error",
                       message=f"syntax error: {exc.msg}")
    except ValueError as exc:  # e.g. null bytes
        return Finding(tool="ast", path=path, code="syntax-error", message=str(exc))
    return None


class _Names:
    """Local names -> the qualified names they were imported as."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def qualify(self, node: ast.AST) -> str | None:
        """``h.get`` -> ``httpx.get`` when ``import httpx as h``; None for other shapes."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            owner = self.qualify(node.value)
            return f"{owner}.{node.attr}" if owner else None
        return None


def _forbidden_name(qualified: str) -> str | None:
    if qualified.startswith("builtins."):
        qualified = qualified.removeprefix("builtins.")
    return qualified if qualified in FORBIDDEN_CALLS else None


def _import_findings(path: str, tree: ast.Module) -> Iterator[Finding]:
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
            for alias in node.names:
                if _forbidden_name(f"{node.module}.{alias.name}"):
                    yield _finding(path, node, "forbidden-call", (
                        f"importing {node.module}.{alias.name} is not allowed: generated code "
                        "may not run processes, evaluate code or unpickle data"))
        for module in modules:
            top = module.split(".")[0]
            if top in FORBIDDEN_MODULES:
                yield _finding(path, node, "forbidden-import", (
                    f"import of {module} is not allowed: generated code may not start "
                    "processes or load native code; use httpx for the API"))
            elif top == "socket" and id(node) in top_level:
                yield _finding(path, node, "socket-at-module-level", (
                    "socket imported at module level: talk to the API through httpx, not "
                    "raw sockets"))


def _reference_findings(path: str, tree: ast.Module, names: _Names) -> Iterator[Finding]:
    for node in ast.walk(tree):
        qualified: str | None = None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            qualified = node.id if node.id in _BUILTIN_NAMES else names.qualify(node)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            qualified = names.qualify(node)
        forbidden = _forbidden_name(qualified) if qualified else None
        if forbidden:
            yield _finding(path, node, "forbidden-call", (
                f"{forbidden} is not allowed in generated code (it runs processes, evaluates "
                "code or unpickles data); remove it"))


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node that runs when the module is imported (function bodies excluded)."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from stmt.decorator_list
            yield from (d for d in [*stmt.args.defaults, *stmt.args.kw_defaults] if d)
        elif isinstance(stmt, ast.ClassDef):
            yield from [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]
            yield from _import_time_nodes(stmt.body)
        elif isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
            yield from _import_time_nodes(stmt.orelse)
        elif isinstance(stmt, ast.If | ast.For | ast.While | ast.With | ast.Try):
            yield from (child for child in ast.iter_child_nodes(stmt)
                        if not isinstance(child, ast.stmt))
            for field in ("body", "orelse", "finalbody"):
                yield from _import_time_nodes(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _import_time_nodes(handler.body)
        else:
            yield stmt


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _walk_skipping_functions(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk_skipping_functions(child)


def _network_at_import(path: str, tree: ast.Module, names: _Names) -> Iterator[Finding]:
    for top in _import_time_nodes(tree.body):
        for node in _walk_skipping_functions(top):
            if not isinstance(node, ast.Call):
                continue
            qualified = names.qualify(node.func) or ""
            if qualified in _PURE:
                continue
            if any(qualified == m or qualified.startswith(m + ".") for m in NETWORK_MODULES):
                yield _finding(path, node, "import-time-network", (
                    f"{qualified}() runs when the module is imported: network calls (and "
                    "clients of network libraries) belong inside functions"))


def policy_findings(path: str, source: str) -> list[Finding]:
    """Forbidden imports, calls and import-time network use in one parsed file."""
    tree = ast.parse(source, filename=path)
    names = _Names(tree)
    found = [*_import_findings(path, tree), *_reference_findings(path, tree, names),
             *_network_at_import(path, tree, names)]
    unique = {(f.line, f.code, f.message): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line or 0, f.code, f.message))
