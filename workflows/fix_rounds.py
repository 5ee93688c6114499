"""What the generate -> check -> test rounds of creation and update decide when code fails.

The request reached generation, so it was valid: code the bot wrote that fails the bot's own
checks or tests is the bot's fault. Such a failure ends with an internal error (category
``internal``), never with "edit your request". A round that gives exactly the files of the
round before cannot fix anything (the offline generator is deterministic and writes its files
from the request alone), so the rounds stop there instead of repeating to the bound.
"""

from __future__ import annotations

from models.codegen import Backend, Finding
from models.error_types import ErrorType

STALLED_PATCH = "stop-when-a-round-changes-nothing"  # earlier runs repeated to the bound
STALLED_TYPE = ErrorType.INTERNAL_GENERATION_STALLED
NOT_CONVERGED_TYPE = ErrorType.INTERNAL_GENERATION_DID_NOT_CONVERGE
LEGACY_NOT_CONVERGED_TYPE = ErrorType.GENERATION_DID_NOT_CONVERGE


def listed(findings: list[Finding], limit: int = 10) -> str:
    return "; ".join(f"{f.tool} {f.path}:{f.line or ''} {f.message}".strip()
                     for f in findings[:limit])


def stalled(files: dict[str, str], previous: dict[str, str], attempt: int) -> bool:
    """Whether round ``attempt`` (after a failed round) changed nothing at all."""
    return attempt > 1 and files == previous


def stalled_message(backend: Backend, attempt: int, findings: list[Finding]) -> str:
    return (f"internal error: the code the bot wrote ({backend.value}) failed the bot's own "
            f"checks or tests, and round {attempt} wrote exactly the same files again, so no "
            f"further round can fix it: {listed(findings)}")


def not_converged_message(rounds: int, findings: list[Finding], *, internal: bool) -> str:
    if not internal:  # the wording of runs that started before STALLED_PATCH
        return f"the generated code still had problems after {rounds} rounds: {listed(findings)}"
    return (f"internal error: the code the bot wrote still failed its own checks or tests "
            f"after {rounds} rounds: {listed(findings)}")
