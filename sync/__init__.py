"""The outbox, the uploader, the wire protocol; ``sync.cloud`` is the cloud store."""
