"""Command groups of the CLI (one module per group)."""
