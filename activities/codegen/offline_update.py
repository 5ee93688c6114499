"""Deterministic updates of an integration by the offline generator (no AI model).

From the stored request and an :class:`UpdateRequest`:

- endpoints in the update's Endpoints field are added to the request (a feature: new public
  methods, capabilities and operations);
- ``rename <old> to <new>`` in the Change text renames a public method everywhere in the
  package, its tests and its manifest (breaking);
- a fix regenerates the same API and records the change in ``CHANGES.md`` (the Change text
  is appended to the requirements, so e.g. "timeout 20 seconds" changes the default timeout).
"""

from __future__ import annotations

import json
import re

from temporalio import activity

from activities.codegen.offline.operations import endpoint_key, operations
from activities.codegen.offline_generator import analyze, generate
from models.codegen import AnalyzeInput, GenerateInput
from models.request import IntegrationRequest
from models.update import UpdateGenerated, UpdateGenerateInput
from models.update_request import ChangeKind

_RENAME = re.compile(r"\brename\s+`?([A-Za-z_][A-Za-z0-9_]*)`?\s+(?:to|->|as)\s+"
                     r"`?([A-Za-z_][A-Za-z0-9_]*)`?", re.IGNORECASE)


def renames(change: str) -> list[tuple[str, str]]:
    """``rename get_alerts to list_alerts`` -> ``[("get_alerts", "list_alerts")]``."""
    return [(old, new) for old, new in _RENAME.findall(change) if old != new]


def updated_request(request: IntegrationRequest, inp: UpdateGenerateInput) -> IntegrationRequest:
    """The request with the update's endpoints added and its change noted."""
    known = {(e.method, e.path) for e in request.endpoints}
    endpoints = [*request.endpoints,
                 *[e for e in inp.update.endpoints if (e.method, e.path) not in known]]
    requirements = request.requirements
    if inp.update.kind == ChangeKind.FIX:
        requirements = f"{requirements}\n{inp.update.change}".strip()
    return request.model_copy(update={"endpoints": endpoints[:50],
                                      "requirements": requirements})


def _camel(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def apply_renames(files: dict[str, str], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Rename identifiers (and their ``...Body`` models) in every file, by whole words."""
    result = dict(files)
    for old, new in pairs:
        patterns = [(re.compile(rf"\b{re.escape(old)}\b"), new),
                    (re.compile(rf"\b{re.escape(_camel(old))}Body\b"), f"{_camel(new)}Body")]
        for path, text in result.items():
            for pattern, replacement in patterns:
                text = pattern.sub(replacement, text)
            result[path] = text
    return result


def live_operation_names(before: IntegrationRequest, files: dict[str, str]) -> dict[str, str]:
    """Each endpoint's operation name as the live version has it: its manifest's
    capabilities, one per endpoint in the request's order (so names an earlier update kept or
    renamed stay); the names the request alone gives when the manifest does not say."""
    ops = operations(before)
    endpoints = [endpoint_key(op.method, op.path) for op in ops]
    try:
        manifest = json.loads(files.get(f"integrations/{before.slug}/manifest.json", "") or "{}")
    except ValueError:
        manifest = {}
    names = manifest.get("capabilities") if isinstance(manifest, dict) else None
    if (isinstance(names, list) and len(names) == len(endpoints)
            and all(isinstance(n, str) and n.isidentifier() for n in names)):
        return dict(zip(endpoints, names, strict=True))
    return {key: op.name for key, op in zip(endpoints, ops, strict=True)}


def generate_update(inp: UpdateGenerateInput) -> UpdateGenerated:
    """The integration's files after the update, at ``inp.version``. Pure and deterministic."""
    before = IntegrationRequest.model_validate(inp.request)
    request = updated_request(before, inp)
    names = live_operation_names(before, inp.previous_files)
    spec = analyze(AnalyzeInput(request=request, integration_key="update")).spec
    code = generate(GenerateInput(
        request=request, spec=spec, version=inp.version, findings=inp.findings,
        reviewer_comments=[f"update ({inp.update.kind.value}): {inp.update.change}",
                           *inp.reviewer_comments],
        previous_files=inp.previous_files, integration_key="update", attempt=inp.attempt,
        operation_names=names))
    new_pairs = renames(inp.update.change)
    pairs = [*inp.renames, *new_pairs]
    files = apply_renames(code.files, pairs) if pairs else code.files
    summary = code.summary + (f" Renamed: {', '.join(f'{a} -> {b}' for a, b in new_pairs)}."
                              if new_pairs else "")
    return UpdateGenerated(files=files, summary=summary,
                           request=request.model_dump(mode="json"), renames=pairs)


@activity.defn
def offline_generate_update(inp: UpdateGenerateInput) -> UpdateGenerated:
    """Generate the updated integration offline. Pure: a repeat gives the same files."""
    return generate_update(inp)


OFFLINE_UPDATE_ACTIVITIES = [offline_generate_update]
