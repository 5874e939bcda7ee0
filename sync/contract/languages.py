"""The languages Stampedge speaks: every message catalogue is complete in each of them (the
first is the fallback). The cloud's default language travels to the agent in the sync state."""

from typing import Literal, get_args

Language = Literal["en", "de", "pl", "uk"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
