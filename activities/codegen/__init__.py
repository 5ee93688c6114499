"""Code-writing backends: Claude (through the Messages API) and the offline generator."""
