"""The cloud pages' sentences live with the agent's pages in ``sync.web.texts`` (one catalog)."""

from sync.web.texts import TEXTS, markup, placeholders, plural, t

__all__ = ["TEXTS", "markup", "placeholders", "plural", "t"]
