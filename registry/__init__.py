"""The registry: sqlmodel tables and the queries over them (SQLite by default, PostgreSQL by
setting). Activities, the starter and the CLI use it; workflows never do."""
