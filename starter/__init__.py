"""The webhook starter (HTTP server) and the `ccb` CLI."""
