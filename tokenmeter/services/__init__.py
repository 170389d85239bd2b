"""Check and top-up services."""
