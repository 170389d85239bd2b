"""People-facing doors: Telegram and Blynk."""
