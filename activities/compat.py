"""Public-API comparison of an integration's old and new package (by AST, never imported).

The public API is: module-level functions and classes of the package (names without a leading
underscore) with their signatures, the public methods of public classes, the manifest's
capabilities and the HTTP operations of the service. A member removed or whose signature
changed incompatibly is breaking; a new member, or a signature that only gains optional
parameters (every old call still valid), is an addition. Signatures compare parameter names,
kinds and whether a parameter is optional, not defaults or annotations, so a new default
timeout is not a breaking change.
"""

from __future__ import annotations

import ast
import json
from pathlib import PurePosixPath

from temporalio import activity

from activities.faults import pause_point
from models.update import ApiMember, CompatInput, CompatReport

_ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})


def _signature(args: ast.arguments) -> str:
    """``(a, b=?, *, c=?, **kw)``: names, kinds and optionality only."""
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    parts: list[str] = []
    for index, arg in enumerate(positional):
        if arg.arg in {"self", "cls"} and index == 0:
            continue
        parts.append(arg.arg + ("=?" if index >= first_default else ""))
    if args.vararg:
        parts.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        parts.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(arg.arg + ("=?" if default is not None else ""))
    if args.kwarg:
        parts.append(f"**{args.kwarg.arg}")
    return "(" + ", ".join(parts) + ")"


def _routes(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ApiMember]:
    found: list[ApiMember] = []
    for deco in node.decorator_list:
        if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                and deco.func.attr in _ROUTE_METHODS and deco.args
                and isinstance(deco.args[0], ast.Constant) and isinstance(deco.args[0].value, str)):
            found.append(ApiMember(kind="operation",
                                   name=f"{deco.func.attr.upper()} {deco.args[0].value}"))
    return found


def _operation_table(node: ast.AST) -> list[ApiMember]:
    """``OPERATION_SUMMARIES = {"name": "GET /path - ..."}``: one operation per key."""
    if not (isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict)):
        return []
    targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
    if not any(isinstance(t, ast.Name) and t.id == "OPERATION_SUMMARIES" for t in targets):
        return []
    members = []
    for key, value in zip(node.value.keys, node.value.values, strict=True):
        if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
            upstream = str(value.value).split(" - ")[0]
            members.append(ApiMember(kind="operation", name=f"POST /operations/{key.value}",
                                     signature=upstream))
    return members


def module_api(module: str, source: str) -> list[ApiMember]:
    """The public members one module defines (a module that does not parse has none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    members: list[ApiMember] = []
    for node in tree.body:
        members.extend(_operation_table(node))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            members.extend(_routes(node))
            if not node.name.startswith("_"):
                members.append(ApiMember(kind="function", name=f"{module}.{node.name}",
                                         signature=_signature(node.args)))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            members.append(ApiMember(kind="class", name=f"{module}.{node.name}"))
            for item in node.body:
                if (isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                        and (not item.name.startswith("_") or item.name == "__init__")):
                    members.append(ApiMember(kind="method",
                                             name=f"{module}.{node.name}.{item.name}",
                                             signature=_signature(item.args)))
    return members


def public_api(slug: str, files: dict[str, str]) -> dict[str, ApiMember]:
    """Every public member of ``integrations/<slug>/`` keyed by kind and name."""
    root = PurePosixPath("integrations", slug)
    members: list[ApiMember] = []
    for path, text in sorted(files.items()):
        pure = PurePosixPath(path)
        if root not in pure.parents:
            continue
        relative = pure.relative_to(root)
        if relative.parts[0] == "tests" or pure.suffix != ".py":
            if relative == PurePosixPath("manifest.json"):
                members.extend(_capabilities(text))
            continue
        module = ".".join(relative.with_suffix("").parts)
        members.extend(module_api(module.removesuffix(".__init__"), text))
    return {f"{m.kind} {m.name}": m for m in members}


def _capabilities(text: str) -> list[ApiMember]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    capabilities = data.get("capabilities", []) if isinstance(data, dict) else []
    return [ApiMember(kind="capability", name=str(c)) for c in capabilities]


def _parameters(signature: str) -> tuple[list[str], list[str], list[str]]:
    """``(a, b=?, *, c=?, **kw)`` -> positional, keyword-only and ``*``/``**`` parts."""
    inner = signature.strip()[1:-1]
    parts = [p.strip() for p in inner.split(",") if p.strip()] if inner else []
    positional: list[str] = []
    keyword: list[str] = []
    stars: list[str] = []
    seen_star = False
    for part in parts:
        if part == "*" or (part.startswith("*") and not part.startswith("**")):
            seen_star = True
            if part != "*":
                stars.append(part)
        elif part.startswith("**"):
            stars.append(part)
        else:
            (keyword if seen_star else positional).append(part)
    return positional, keyword, stars


def only_adds_optional_parameters(old: str, new: str) -> bool:
    """Whether every call valid against ``old`` is valid against ``new``: the old positional
    parameters kept in order, the old keyword-only ones kept, only optional ones added."""
    if not (old.startswith("(") and new.startswith("(")):
        return False
    old_pos, old_kw, old_stars = _parameters(old)
    new_pos, new_kw, new_stars = _parameters(new)
    if new_pos[:len(old_pos)] != old_pos or not set(old_stars) <= set(new_stars):
        return False
    if not all(p.endswith("=?") for p in new_pos[len(old_pos):]):
        return False
    kept = {p.removesuffix("=?"): p for p in new_kw}
    for part in old_kw:
        name = part.removesuffix("=?")
        if name not in kept or (part.endswith("=?") and not kept[name].endswith("=?")):
            return False
    old_names = {p.removesuffix("=?") for p in old_kw}
    return all(p.endswith("=?") for p in new_kw if p.removesuffix("=?") not in old_names)


def compare_apis(slug: str, old_files: dict[str, str], new_files: dict[str, str]) -> CompatReport:
    """Removed, changed, extended and added public members between two versions."""
    old, new = public_api(slug, old_files), public_api(slug, new_files)
    differ = [k for k in sorted(old) if k in new and old[k].signature != new[k].signature]
    extended = [k for k in differ if old[k].kind in {"function", "method"}
                and only_adds_optional_parameters(old[k].signature, new[k].signature)]
    return CompatReport(
        removed=[old[k] for k in sorted(old) if k not in new],
        changed=[(old[k], new[k]) for k in differ if k not in extended],
        added=[new[k] for k in sorted(new) if k not in old],
        extended=[(old[k], new[k]) for k in extended],
    )


@activity.defn
def compare_public_api(command: CompatInput) -> CompatReport:
    """Compare the public API of two versions of an integration. Pure: safe to repeat."""
    pause_point("update.compat")
    return compare_apis(command.slug, command.old_files, command.new_files)


COMPAT_ACTIVITIES = [compare_public_api]
