"""The team's workspace: every finished task the server has seen, kept in a database, listed and searched."""
