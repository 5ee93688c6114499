"""The Claude backend: analyze, generate and review through the Messages API.

Each step is one forced tool call whose input schema is a pydantic model, so the answer is
structured data, validated here. An answer that does not fit gets one repair turn (the
validation errors go back as an ``is_error`` tool result); a second misfit is a clear,
non-retryable error. The SDK's retries are off: Temporal retries what
:mod:`activities.llm_errors` calls retryable. Every call's tokens and cost are recorded in the
registry against the request's ``integration_key``. Before every call (a repair turn too) the
request's spend is checked against ``CCB_TOKEN_BUDGET``, a hard ceiling; the workflow may
enforce a lower budget of its own with the ``check_token_budget`` activity.

The API key is read here from the settings, never taken from inputs, never logged. Generated
code is data: nothing here imports or runs it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

import anthropic
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from activities.codegen import prompts
from activities.codegen.pricing import with_cost
from activities.llm_errors import to_application_error
from activities.usage import check_budget, record_call
from infra.settings import Settings, get_settings
from models.codegen import (
    AnalyzeInput,
    AnalyzeResult,
    Backend,
    GeneratedCode,
    GenerateInput,
    ReviewInput,
    ReviewResult,
    TokenUsage,
)
from models.error_types import ErrorType
from models.manifest import TechnicalSpec

log = logging.getLogger("ccb.codegen.claude")

M = TypeVar("M", bound=BaseModel)
MAX_ERRORS_SHOWN = 20  # validation errors sent back (and reported) per answer
MAX_ERROR_CHARS = 300  # each one shortened: it may quote the model's output


def _validation_messages(exc: ValidationError) -> list[str]:
    """``loc: message`` lines, without the offending values (they can be long or hostile)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{where}: {error['msg']}")
    return lines


def _file_path_problems(files: prompts.GeneratedFiles, slug: str) -> list[str]:
    """Paths that are not plain relative paths inside ``integrations/<slug>/``."""
    root = PurePosixPath("integrations", slug)
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(files.files):
        path = PurePosixPath(item.path)
        where = f"files.{index}.path"
        if ("\\" in item.path or path.is_absolute() or ".." in path.parts
                or path == root or root not in path.parents):
            problems.append(f"{where}: {item.path!r} must be a relative path under {root}/ "
                            "without '..' or backslashes")
        elif item.path in seen:
            problems.append(f"{where}: {item.path!r} is given twice")
        seen.add(item.path)
    return problems


def _comment_problems(review: prompts.ReviewOutput, files: dict[str, str]) -> list[str]:
    """Inline comments must point at a line of a reviewed file (GitHub refuses others)."""
    problems = []
    for index, comment in enumerate(review.comments):
        if comment.path not in files:
            problems.append(f"comments.{index}.path: {comment.path!r} is not a reviewed file")
        elif not 1 <= comment.line <= max(1, files[comment.path].count("\n") + 1):
            problems.append(f"comments.{index}.line: {comment.path} has no line {comment.line}")
    return problems


class ClaudeBackend:
    """Analyze, generate and review with Claude; one instance per activity call is fine."""

    backend = Backend.CLAUDE

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    # -- the three steps ---------------------------------------------------------------------

    def analyze(self, inp: AnalyzeInput, *, call_key: str | None = None) -> AnalyzeResult:
        """Request -> technical spec."""
        guidance = prompts.guidance_block(inp.guidance)
        content = [prompts.text(
            prompts.untrusted_request_block(inp.request)
            + (f"\n\nThe repository's conventions:\n{guidance}" if guidance else "")
            + f"\n\nAnalyse this integration request (slug {inp.request.slug}) and call "
            f"{prompts.ANALYZE_TOOL} with its technical spec."
        )]
        spec, usage = self._structured_call(
            step="analyze", system=prompts.analyze_system(inp.request.integration_type),
            tool=prompts.ANALYZE_TOOL,
            model=TechnicalSpec, content=content, integration_key=inp.integration_key,
            call_key=call_key,
        )
        return AnalyzeResult(spec=spec, backend=self.backend, usage=usage)

    def generate(self, inp: GenerateInput, *, call_key: str | None = None) -> GeneratedCode:
        """Request + spec (+ findings, reviewer comments, previous files) -> files."""
        slug = inp.request.slug
        # The request and spec stay the same across fix rounds: cache them with the prefix.
        guidance = prompts.guidance_block(inp.guidance)
        stable = prompts.text(
            prompts.untrusted_request_block(inp.request) + "\n\n"
            + (f"The repository's conventions:\n{guidance}\n\n" if guidance else "")
            + prompts.data_block("technical_spec", inp.spec.model_dump(mode="json")),
            cache=True,
        )
        parts = [f"Write version {inp.version} of the integration under integrations/{slug}/ "
                 f"(attempt {inp.attempt})."]
        if inp.previous_files:
            parts.append("The files written last time:\n"
                         + prompts.data_block("previous_files", inp.previous_files))
        if inp.findings:
            parts.append("Fix every one of these findings from the checks and tests:\n"
                         + prompts.findings_block(inp.findings))
        if inp.reviewer_comments:
            parts.append("Address these reviewer comments:\n"
                         + prompts.reviewer_comments_block(inp.reviewer_comments))
        parts.append(f"Call {prompts.GENERATE_TOOL} with the complete contents of every file.")
        written, usage = self._structured_call(
            step="generate", system=prompts.generate_system(inp.request.integration_type),
            tool=prompts.GENERATE_TOOL,
            model=prompts.GeneratedFiles, content=[stable, prompts.text("\n\n".join(parts))],
            integration_key=inp.integration_key, call_key=call_key,
            check=lambda files: _file_path_problems(files, slug),
        )
        return GeneratedCode(files={f.path: f.content for f in written.files},
                             backend=self.backend, summary=written.summary, usage=usage)

    def review(self, inp: ReviewInput, *, call_key: str | None = None) -> ReviewResult:
        """Files + automated findings -> summary, inline comments, approve or not."""
        parts = [prompts.untrusted_request_block(inp.request) if inp.request else
                 "The original request is not on record: judge the files by their manifest "
                 "and README.",
                 "The files to review:\n" + prompts.data_block("generated_files", inp.files)]
        if inp.changed_paths:
            parts.append("The pull request changes these files; comment only on them:\n"
                         + prompts.data_block("changed_paths", sorted(inp.changed_paths)))
        if inp.findings:
            parts.append("Findings of the automated checks:\n"
                         + prompts.findings_block(inp.findings))
        parts.append(f"Review the integration {inp.integration} and call {prompts.REVIEW_TOOL}.")
        review, usage = self._structured_call(
            step="review", tool=prompts.REVIEW_TOOL,
            system=prompts.review_system(inp.request.integration_type if inp.request else None),
            model=prompts.ReviewOutput, content=[prompts.text("\n\n".join(parts))],
            integration_key=inp.integration_key, call_key=call_key,
            check=lambda out: _comment_problems(out, inp.files),
        )
        return ReviewResult(summary=review.summary, comments=review.comments,
                            approve=review.approve, backend=self.backend, usage=usage)

    # -- one structured call, with one repair turn ----------------------------------------------

    def _structured_call(self, *, step: str, system: str, tool: str, model: type[M],
                         content: list[dict[str, Any]], integration_key: str,
                         call_key: str | None,
                         check: Callable[[M], list[str]] | None = None
                         ) -> tuple[M, TokenUsage]:
        call_key = call_key or f"direct:{uuid.uuid4().hex}"
        messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
        total = TokenUsage()
        problems: list[str] = []
        with self._client() as client:
            for turn in (1, 2):
                check_budget(integration_key, self.settings.token_budget_per_request)
                message, usage = self._send(client, step=step, system=system, tool=tool,
                                            messages=messages, integration_key=integration_key,
                                            call_key=f"{call_key}:{turn}")
                total += usage
                block = next((b for b in message.content
                              if b.type == "tool_use" and b.name == tool), None)
                if block is None:
                    problems = [f"the answer did not call the tool {tool}"]
                else:
                    try:
                        result = model.model_validate(block.input)
                        problems = check(result) if check else []
                    except ValidationError as exc:
                        problems = _validation_messages(exc)
                    if not problems:
                        return result, total
                problems = [p[:MAX_ERROR_CHARS] for p in problems[:MAX_ERRORS_SHOWN]]
                log.warning("Claude %s answer does not fit the schema (turn %d): %s",
                            step, turn, "; ".join(problems))
                messages += self._repair_turn(message, block, tool, problems)
        raise ApplicationError(
            f"Claude returned output that does not fit the schema twice ({step}): "
            + "; ".join(problems),
            {"step": step, "errors": problems},
            type=ErrorType.CLAUDE_OUTPUT_INVALID, non_retryable=True,
        )

    @staticmethod
    def _repair_turn(message: Any, block: Any, tool: str, problems: list[str]
                     ) -> list[dict[str, Any]]:
        """The assistant's answer and a user turn asking for a corrected tool call."""
        echoed: list[dict[str, Any]] = []
        for item in message.content:
            if item.type == "tool_use":
                echoed.append({"type": "tool_use", "id": item.id, "name": item.name,
                               "input": item.input})
            elif item.type == "text" and item.text:
                echoed.append({"type": "text", "text": item.text})
        ask = (f"Your input to {tool} does not fit its schema:\n- " + "\n- ".join(problems)
               + f"\nCall {tool} again with corrected, complete input.")
        if block is None:
            return [{"role": "assistant", "content": echoed or [{"type": "text", "text": "-"}]},
                    {"role": "user", "content": [prompts.text(ask)]}]
        replies: list[dict[str, Any]] = [
            {"type": "tool_result", "tool_use_id": item.id, "is_error": True,
             "content": ask if item.id == block.id else f"Call {tool} only once."}
            for item in message.content if item.type == "tool_use"
        ]
        return [{"role": "assistant", "content": echoed}, {"role": "user", "content": replies}]

    # -- the HTTP call -------------------------------------------------------------------------

    def _client(self) -> anthropic.Anthropic:
        key = self.settings.anthropic_api_key.get_secret_value()
        if not key:
            raise ApplicationError(
                "ANTHROPIC_API_KEY is not set: set it to an Anthropic API key, "
                "or use the offline generator",
                type=ErrorType.ANTHROPIC_KEY_MISSING, non_retryable=True,
            )
        return anthropic.Anthropic(
            api_key=key,
            base_url=self.settings.anthropic_base_url,
            max_retries=0,  # Temporal owns retrying
            timeout=self.settings.claude_timeout_seconds,
        )

    def _send(self, client: anthropic.Anthropic, *, step: str, system: str, tool: str,
              messages: list[dict[str, Any]], integration_key: str, call_key: str
              ) -> tuple[Any, TokenUsage]:
        """One Messages API request; its usage recorded; SDK errors as Temporal errors."""
        model_id = self.settings.claude_model
        try:
            # Plain dicts match the SDK's TypedDicts at run time; mypy cannot tell.
            raw = client.messages.with_raw_response.create(  # type: ignore[call-overload]
                model=model_id,
                max_tokens=self.settings.claude_max_tokens,
                system=prompts.system_blocks(system),
                tools=[prompts.tool_definition(tool)],
                tool_choice={"type": "tool", "name": tool},
                messages=messages,
            )
            message = raw.parse()
        except anthropic.APIError as exc:
            raise to_application_error(exc, step=step) from None
        request_id = raw.headers.get("request-id", "")
        used = message.usage
        usage = with_cost(TokenUsage(
            input_tokens=used.input_tokens or 0,
            output_tokens=used.output_tokens or 0,
            cache_creation_input_tokens=used.cache_creation_input_tokens or 0,
            cache_read_input_tokens=used.cache_read_input_tokens or 0,
        ), message.model or model_id, self.settings.claude_prices)
        record_call(call_key=call_key, integration_key=integration_key, step=step,
                    model=message.model or model_id, request_id=request_id, usage=usage)
        log.info("Claude %s call: model %s, request-id %s, %d tokens in, %d out, "
                 "%d cache write, %d cache read, $%.4f", step, message.model or model_id,
                 request_id, usage.input_tokens, usage.output_tokens,
                 usage.cache_creation_input_tokens, usage.cache_read_input_tokens,
                 usage.cost_usd)
        if message.stop_reason == "max_tokens":
            raise ApplicationError(
                f"Claude {step}: the answer was cut off at {self.settings.claude_max_tokens} "
                "tokens: raise CCB_CLAUDE_MAX_TOKENS or simplify the request "
                f"(request-id {request_id})",
                {"step": step, "request_id": request_id},
                type=ErrorType.CLAUDE_ANSWER_TRUNCATED, non_retryable=True,
            )
        return message, usage
