"""Kiosk firmware: front-ends (buttons, touch) on a shared core (filter, outbox, link)."""
