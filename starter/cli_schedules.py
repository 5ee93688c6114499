"""``ccb schedules``: the bot's Temporal Schedules — list, pause, unpause, trigger.

The same actions work in the Temporal Web UI (Schedules); both act on the server's schedule,
so a pause from either is seen by both and survives restarts of the bot.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from infra.settings import get_settings
from starter.cli_commands import _fail, _one_line, _run

SCHEDULE = Annotated[str, typer.Argument(help="the schedule id (`ccb schedules` lists them)")]


def register(app: typer.Typer) -> None:
    schedules = typer.Typer(help="The bot's Temporal Schedules (re-verification, and one per "
                                 "deployed sync job).",
                            invoke_without_command=True)
    app.add_typer(schedules, name="schedules")

    @schedules.callback()
    @_one_line
    def list_schedules(ctx: typer.Context) -> None:
        """Every schedule: paused or not, its interval, next run and last result."""
        if ctx.invoked_subcommand is not None:
            return

        async def rows(client: Any) -> list[str]:
            out = []
            async for listed in await client.list_schedules():
                described = await client.get_schedule_handle(listed.id).describe()
                state = described.schedule.state
                every = ", ".join(f"{i.every.total_seconds() / 3600:g} h"
                                  for i in described.schedule.spec.intervals)
                upcoming = described.info.next_action_times[:1]
                recent = described.info.recent_actions[-1:]
                last = (recent[0].action.workflow_id if recent else "never run")
                note = f" ({state.note})" if state.note else ""
                out.append(f"{listed.id}\t{'paused' if state.paused else 'active'}{note}\t"
                           f"every {every or '?'}\tnext "
                           f"{upcoming[0].isoformat(timespec='seconds') if upcoming else '-'}"
                           f"\tlast {last}")
            return out

        lines = _run(get_settings(), lambda dispatcher: rows(dispatcher.client))
        typer.echo("\n".join(lines) if lines else "no schedules")

    def _act(schedule_id: str, verb: str, note: str = "") -> None:
        from temporalio.service import RPCError, RPCStatusCode

        async def act(client: Any) -> None:
            handle = client.get_schedule_handle(schedule_id)
            try:
                if verb == "pause":
                    await handle.pause(note=note or "paused with ccb schedules pause")
                elif verb == "unpause":
                    await handle.unpause(note=note or "unpaused with ccb schedules unpause")
                else:
                    await handle.trigger()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    _fail(f"no schedule named {schedule_id!r}; `ccb schedules` lists them")
                raise

        _run(get_settings(), lambda dispatcher: act(dispatcher.client))
        typer.echo(f"ccb: {schedule_id} {'triggered' if verb == 'trigger' else verb + 'd'}")

    @schedules.command("pause")
    @_one_line
    def pause(schedule_id: SCHEDULE,
              note: Annotated[str, typer.Option(help="why (shown in the UI)")] = "") -> None:
        """Stop a schedule from starting runs until it is unpaused."""
        _act(schedule_id, "pause", note)

    @schedules.command("unpause")
    @_one_line
    def unpause(schedule_id: SCHEDULE,
                note: Annotated[str, typer.Option(help="why (shown in the UI)")] = "") -> None:
        """Let a paused schedule start runs again."""
        _act(schedule_id, "unpause", note)

    @schedules.command("trigger")
    @_one_line
    def trigger(schedule_id: SCHEDULE) -> None:
        """Start one run now (the interval is unchanged)."""
        _act(schedule_id, "trigger")
