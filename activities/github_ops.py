"""Every GitHub activity, for the worker: issues, git data and pull requests.

Each one is a plain (blocking) ``def`` run in the worker's thread pool, takes one pydantic
model, does one side effect, and says in its docstring how a repeat leaves one effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.github_git import GIT_ACTIVITIES
from activities.github_issues import ISSUE_ACTIVITIES
from activities.github_pulls import PULL_ACTIVITIES

GITHUB_ACTIVITIES: list[Callable[..., Any]] = [
    *ISSUE_ACTIVITIES,
    *GIT_ACTIVITIES,
    *PULL_ACTIVITIES,
]
