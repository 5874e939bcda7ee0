"""The agent's SQLite database: the file, the group-commit writer, every table, its migrations."""
