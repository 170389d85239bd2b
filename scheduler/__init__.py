"""Scheduled automatic checks."""
