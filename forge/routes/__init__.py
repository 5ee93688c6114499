"""The forge's REST routes, one module per GitHub resource family."""
