"""The CLI commands, one module per family; cli.py registers them on the group."""
