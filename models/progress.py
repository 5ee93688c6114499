"""The progress comment's input: where to publish and what."""

from __future__ import annotations

from pydantic import BaseModel

from models.creation import Progress


class ProgressUpdate(BaseModel):
    repo: str
    issue_number: int
    progress: Progress
    final: bool = False
