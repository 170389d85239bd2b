"""CLI commands, one module per area; ``tokenmeter.cli`` gathers them."""
