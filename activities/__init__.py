"""Temporal activities: every side effect of the bot, each idempotent."""
