"""Inputs and results of the contribution workflow: a person's own pull request that changed
an integration and was merged (issue 13, item 3)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from models.github import IssueNumber, RepoName


class ContributionInput(BaseModel):
    """A merged pull request the bot did not open; ``merged_by`` has write access (checked by
    the starter before it started this)."""

    repo: RepoName
    pr_number: IssueNumber
    merged_by: str = Field(min_length=1, max_length=39)
    head_sha: str = Field(default="", max_length=64)  # what was reviewed
    merge_sha: str = Field(min_length=7, max_length=64)  # what landed on main
    environment: str = "development"  # the first of the environment order


class ContributionVersionQuery(BaseModel):
    slug: str
    manifest_version: str = ""  # what the merged manifest.json says, maybe nothing
    commit_sha: str


class ContributionVersion(BaseModel):
    """The version the merged commit is recorded as ('' when none: ``note`` says why and
    which bump would release it)."""

    version: str = ""
    note: str = ""


class SlugOutcome(BaseModel):
    """What became of one integration the pull request changed."""

    slug: str
    outcome: str  # deployed | recorded | not_deployed | not_recorded | unknown | removed
    version: str = ""
    line: str  # the sentence the pull request's comment says about it


class ContributionResult(BaseModel):
    outcome: str  # done | skipped (nothing under integrations/)
    integrations: list[SlugOutcome] = Field(default_factory=list)
