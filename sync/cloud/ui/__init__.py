"""The cloud's pages, rendered server-side from plain view models (pure: no I/O, no clock)."""
