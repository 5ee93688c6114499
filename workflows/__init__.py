"""Temporal workflows: the bot's processes, deterministic decisions only."""
