"""The agent's end of sync: the outbox, the uploader, the cloud client, the state pull, backoff."""
