"""Tests of the agent's scan service (agent/scans): kiosk and autopilot over real HTTP."""
