"""Updates of an integration written by Claude (the key-less path is ``offline_update``).

The stored request gains the update's endpoints (as offline); the spec is derived from the
request's fields by the offline analysis (an update keeps the integration's shape), and
Claude rewrites the current files for the change, which reaches it as delimited untrusted
text like every reviewer comment. Renames are left to Claude but remembered, so that a later
key-less update can carry them on.
"""

from __future__ import annotations

from temporalio import activity

from activities.codegen.claude_activities import call_key
from activities.codegen.claude_backend import ClaudeBackend
from activities.codegen.offline_generator import analyze
from activities.codegen.offline_update import renames, updated_request
from activities.heartbeat import heartbeating
from models.codegen import AnalyzeInput, Backend, GenerateInput
from models.request import IntegrationRequest
from models.update import UpdateGenerated, UpdateGenerateInput


def update_instructions(inp: UpdateGenerateInput) -> list[str]:
    """The change, as comments for the generator (each one delimited as untrusted data)."""
    notes = [f"Update the integration ({inp.update.kind.value}): {inp.update.change}"]
    pairs = renames(inp.update.change)
    if pairs:
        notes.append("Rename everywhere (package, tests, manifest capabilities): "
                     + ", ".join(f"{old} -> {new}" for old, new in pairs))
    if inp.update.kind.value != "breaking":
        notes.append("Keep every existing public function, class and signature unchanged.")
    notes += [f"A reviewer asked for this change: {text}" for text in inp.reviewer_comments]
    return notes


@activity.defn
def claude_generate_update(inp: UpdateGenerateInput) -> UpdateGenerated:
    """The integration's files after the update, by Claude, at ``inp.version``."""
    request = updated_request(IntegrationRequest.model_validate(inp.request), inp)
    spec = analyze(AnalyzeInput(request=request, integration_key=inp.integration_key)).spec
    with heartbeating("waiting for Claude's update"):
        code = ClaudeBackend().generate(GenerateInput(
            request=request, spec=spec, version=inp.version, findings=inp.findings,
            reviewer_comments=update_instructions(inp), previous_files=inp.previous_files,
            integration_key=inp.integration_key, attempt=inp.attempt), call_key=call_key())
    return UpdateGenerated(files=code.files, summary=code.summary,
                           request=request.model_dump(mode="json"),
                           renames=[*inp.renames, *renames(inp.update.change)],
                           backend=Backend.CLAUDE, usage=code.usage)


CLAUDE_UPDATE_ACTIVITIES = [claude_generate_update]
