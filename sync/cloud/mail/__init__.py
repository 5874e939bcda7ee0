"""The cloud's mail: messages built from ``sync.web.texts``, a durable outbox, an SMTP sender."""
