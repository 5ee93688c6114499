"""Infrastructure: settings (the one place that reads the environment), the Temporal client,
converter and search-attribute registration, logging. Workflows never import it."""
