"""What a person does on GitHub outside the bot's commands (issue 13 item 3): closing a
request issue cancels the running workflow (its compensations run: pull request closed,
branch deleted, or a revert after a merge), reopening retries a request whose last run
failed, each answered with one comment on the issue; closing or merging the bot's pull
request is told to the workflow that waits on it. Editing a request's text before its pull
request exists starts it again with the new text (a run that already failed, too); after,
one comment says what to do instead."""

from __future__ import annotations

from temporalio.client import WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from infra.settings import Settings
from models.creation import Progress, PullClosed, RequestEdited
from models.github import UpsertComment
from rules.inert import inert_plain
from starter.dispatch import RPC_TIMEOUT, Dispatcher, Outcome, TemporalUnavailable
from starter.permissions import pull_state
from starter.routing import IssueClosed, IssueEdited, IssueReopened
from workflows import names

IssueAction = IssueClosed | IssueReopened | IssueEdited


def may_act(action: IssueAction) -> bool:
    """The person who opened a request may close, reopen or edit it without write access."""
    return bool(action.author) and action.actor.lower() == action.author.lower()


async def closed_by_its_merge(dispatcher: Dispatcher, settings: Settings, repo: str,
                              issue: int) -> bool:
    """Whether the run's pull request is merged: merging it closes the issue ("Closes #N"),
    which is no reason to stop the run that is about to deploy it."""
    found = await dispatcher.find(repo, issue)
    if found is None:
        return False
    try:
        progress = await found[1].query("progress", result_type=Progress)
    except (RPCError, WorkflowQueryFailedError):
        return False
    if not progress.pr_number:
        return False
    return (await pull_state(settings, repo, progress.pr_number)).get("merged") is True


async def on_issue_event(dispatcher: Dispatcher, settings: Settings,
                         action: IssueAction, delivery: str) -> Outcome:
    repo, issue = action.repo, action.issue_number
    if isinstance(action, IssueEdited):
        outcome, said = await on_edit(dispatcher, action)
        if said is None:
            return outcome
        text = said
    elif isinstance(action, IssueClosed):
        if await closed_by_its_merge(dispatcher, settings, repo, issue):
            return Outcome("ignored", f"#{issue} was closed by merging its pull request")
        outcome = await dispatcher.cancel(repo, issue)
        if outcome.status != "cancelled":
            return outcome  # nothing ran: the issue closing is the end of it, nothing to say
        text = (f"@{action.actor} closed this issue, so the bot stopped working on it: "
                "what it had done is being undone (its pull request closed and branch "
                "deleted, or a revert opened after a merge). Reopen the issue to start again.")
    else:
        outcome = await dispatcher.retry(repo, issue, action.actor, action.title, action.body)
        if outcome.status == "started":
            text = f"@{action.actor} reopened this issue: the bot is retrying the request."
        else:
            text = (f"@{action.actor} reopened this issue, but there is nothing to retry: "
                    f"{outcome.message}. Comment `/status` to see where it is.")
    kind = {IssueClosed: "closed", IssueReopened: "reopened"}.get(type(action), "edited")
    marker = f"{kind}-{delivery}"[:60]
    await dispatcher.start_reply(UpsertComment(repo=repo, number=issue, marker=_safe(marker),
                                               body=text), key=_safe(marker))
    return outcome


async def cancel_and_say(dispatcher: Dispatcher, repo: str, issue: int, who: str) -> Outcome:
    """``ccb cancel`` and the API's cancel: cancel the run and say so on the issue, once per
    run (for ``/cancel`` its reply says it, for a closed issue the closing comment)."""
    outcome = await dispatcher.cancel(repo, issue)
    if outcome.status != "cancelled":
        return outcome
    try:
        run = await dispatcher.client.get_workflow_handle(outcome.workflow_id).describe(
            rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:  # cancelled all the same; only the comment waits for a retry
        raise TemporalUnavailable(f"the cancellation was asked for, but Temporal did not "
                                  f"answer ({type(exc).__name__}) before the comment") from None
    marker = _safe(f"cancelled-{run.run_id}")
    await dispatcher.start_reply(UpsertComment(
        repo=repo, number=issue, marker=marker,
        body=(f"An operator ({inert_plain(who)[:60]}) cancelled this request: what the bot "
              "had done is being undone (its pull request closed and branch deleted, or a "
              "revert opened after a merge). Next: reopen the issue or comment `/retry` to "
              "start again.")), key=marker)
    return outcome


async def on_edit(dispatcher: Dispatcher, action: IssueEdited) -> tuple[Outcome, str | None]:
    """What an edit of the request's text does, and the one comment that says so (None:
    nothing to say, e.g. no workflow ever worked on the issue)."""
    repo, issue, who = action.repo, action.issue_number, action.actor
    found = await dispatcher.find(repo, issue)
    if found is None:
        return Outcome("ignored", f"no workflow works on #{issue}"), None
    kind, handle, status = found
    if status == WorkflowExecutionStatus.COMPLETED:
        return (Outcome("ignored", f"{handle.id} has completed", handle.id, kind),
                f"@{who} edited this issue, but its request is done, so nothing changes: to "
                f"change the integration, open a new issue with the {names.UPDATE_LABEL!r} "
                "label.")
    if status != WorkflowExecutionStatus.RUNNING:
        outcome = await dispatcher.retry(repo, issue, who, action.title, action.body)
        if outcome.status != "started":
            return outcome, None  # another delivery already restarted it
        return outcome, (f"@{who} edited this issue: the bot starts the request again with "
                         "the new text.")
    try:
        progress = await handle.query("progress", result_type=Progress, rpc_timeout=RPC_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError) as exc:
        raise TemporalUnavailable(f"Temporal did not answer: {exc}") from None
    if progress.pr_number:
        return (Outcome("ignored", f"{handle.id} has pull request #{progress.pr_number}",
                        handle.id, kind),
                f"@{who} edited this issue, but its pull request #{progress.pr_number} is "
                "already open, so the edit changes nothing: ask for changes on the pull "
                "request (a review, or a comment `/changes <what to change>`), or, once it is "
                f"merged, open a new issue with the {names.UPDATE_LABEL!r} label.")
    try:
        await handle.signal(names.REQUEST_EDITED_SIGNAL, RequestEdited(
            title=action.title, body=action.body, actor=who), rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from None
    return (Outcome("signalled", f"{handle.id} told the request was edited", handle.id, kind),
            f"@{who} edited this issue before its pull request was opened: the bot checks "
            "the new text and starts the request again with it (what it did so far is "
            "undone).")


def _safe(marker: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in marker)


async def tell_pull_closed(dispatcher: Dispatcher, target: tuple[str, str],
                           closed: PullClosed) -> Outcome:
    """Tell the owning workflow a person closed (or merged) its pull request."""
    kind, workflow_id = target
    handle = dispatcher.client.get_workflow_handle(workflow_id)
    try:
        await handle.signal(names.PULL_CLOSED_SIGNAL, closed, rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return Outcome("rejected", f"{workflow_id} is not running", workflow_id, kind)
        raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from None
    what = "merged" if closed.merged else "closed"
    return Outcome("signalled", f"{workflow_id} told the pull request was {what} by "
                   f"{closed.actor}", workflow_id, kind)
