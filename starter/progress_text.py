"""One line from a request workflow's ``progress`` answer, for `/status`, `ccb status` and
the API."""

from __future__ import annotations

from typing import Any


def describe_progress(progress: Any) -> str:
    """One line from a ``progress`` answer (a ``models.creation.Progress`` as a dict)."""
    if not isinstance(progress, dict):
        return str(progress)[:500]
    parts = [f"state {progress.get('state', '?')}"]
    if progress.get("current_step"):
        parts.append(f"step {progress['current_step']}")
    if progress.get("waiting_for_plan"):
        rev = progress.get("plan_revision")
        parts.append(f"waiting for `/approve-plan {rev}` or `/revise-plan <what>` on plan "
                     f"revision {rev} ({progress.get('plan_url', '')})")
    if progress.get("waiting_for_approval"):
        parts.append(f"waiting for approval of {str(progress.get('head_sha') or '')[:7]}")
    if progress.get("waiting_for_credentials"):
        names = ", ".join(progress["waiting_for_credentials"])
        parts.append(f"waiting for credentials {names} (`ccb secrets set "
                     f"{progress.get('slug', '<slug>')} NAME`)")
    spend = progress.get("spend") or {}
    if spend.get("cap_usd"):
        parts.append(f"spent ${float(spend.get('spent_usd') or 0):.4f} of "
                     f"${float(spend['cap_usd']):.2f}")
    if progress.get("waiting_for_budget"):
        parts.append("waiting at its dollar cap (`/budget +N` raises it)")
    if progress.get("pr_url"):
        parts.append(f"PR {progress['pr_url']}")
    if progress.get("error"):
        parts.append(f"error: {progress['error']}")
    return ", ".join(parts)
