"""The files under tests/sandbox_cases are DATA: integrations and hostile generated tests that
tests/test_sandbox.py sends into the sandbox. The host's pytest must never collect them."""

collect_ignore_glob = ["*"]
