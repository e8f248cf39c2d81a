"""HTTP endpoints: starters, queries and health (one df.Blueprint per module)."""
