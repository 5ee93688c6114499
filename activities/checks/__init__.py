"""The parts of :mod:`activities.code_checks`: path and size rules, the AST policy, the tools."""
