"""The local forge: a GitHub-compatible REST server (PyGithub works against it unchanged)
with real git repositories, signed webhooks and fault injection for tests."""
