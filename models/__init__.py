"""Types shared by workflows, activities, the starter and the CLI."""
