"""The event log and current state: SQLite embedded by default."""
