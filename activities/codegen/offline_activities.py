"""The offline generator as Temporal activities: deterministic, no AI, no side effects."""

from __future__ import annotations

from temporalio import activity

from activities.codegen import offline_generator
from activities.faults import pause_point
from models.codegen import (
    AnalyzeInput,
    AnalyzeResult,
    GeneratedCode,
    GenerateInput,
    ReviewInput,
    ReviewResult,
)


@activity.defn
def offline_analyze(inp: AnalyzeInput) -> AnalyzeResult:
    """Request -> technical spec from the request's fields. Pure: safe to repeat."""
    pause_point("offline_analyze.start")
    return offline_generator.analyze(inp)


@activity.defn
def offline_generate(inp: GenerateInput) -> GeneratedCode:
    """Request + spec + findings -> the integration's files. Pure: safe to repeat."""
    pause_point("offline_generate.start")
    return offline_generator.generate(inp)


@activity.defn
def offline_review(inp: ReviewInput) -> ReviewResult:
    """Rule-based review comments on the files. Pure: safe to repeat."""
    return offline_generator.review(inp)


OFFLINE_ACTIVITIES = [offline_analyze, offline_generate, offline_review]
