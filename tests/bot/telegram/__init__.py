"""Tests of the Telegram door."""
