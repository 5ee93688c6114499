"""Pure rules that workflows and activities may call: no I/O, no clock, no randomness.

Issue-form parsing, slugs and names, endpoint shapes, untrusted-text cleaning, URL safety,
the state machine, semver, the human-review rule and the migration plan. Each is a function
of its arguments alone, so a workflow may run it in its own code and replay gets the same
answer; the import contracts in pyproject.toml keep it that way.
"""
