"""Root error of the sync folder."""


class SyncError(Exception):
    """Outbox or upload trouble; ``agent/`` turns it into an HTTP answer."""


class OutboxFullError(SyncError):
    """The disk is full: the event could not be made durable."""
