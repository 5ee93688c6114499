"""The blue-green deployment's side effects: images, containers (or local processes), health
and smoke checks, traffic steps through the environment's HAProxy, and registry records."""
