"""Scans at the till: Autopilot, kiosk and staff scans, their rules and their rows."""
