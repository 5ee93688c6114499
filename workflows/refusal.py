"""The bot's one-comment answers: polite refusals and the replies to comment commands.

The starter never writes to GitHub while a webhook waits: it starts this workflow with a
deterministic id (``workflows.names.reply_workflow_id``) and answers. The comment is posted by
the idempotent ``upsert_bot_comment`` activity under a marker, so a redelivery, a retry or a
second run still leaves ONE comment.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.github_issues import upsert_bot_comment
    from models.github import CommentRef, UpsertComment
    from workflows.names import REPLY_WORKFLOW
    from workflows.policies import REPLY_STEP



@workflow.defn(name=REPLY_WORKFLOW)
class BotReplyWorkflow:
    """Post (or refresh) one bot comment on an issue or pull request."""

    @workflow.run
    async def run(self, reply: UpsertComment) -> CommentRef:
        return await workflow.execute_activity(
            upsert_bot_comment, reply, **REPLY_STEP)
