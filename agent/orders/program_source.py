"""The program the agent stamps by: the config's default until the cloud sends the branch's;
with it what else the cloud says of the branch (the shop's name, the business's language)."""

from config import ProgramSettings
from sync.contract.events import ProgramState
from sync.contract.languages import DEFAULT_LANGUAGE, Language
from sync.contract.program import Program


def program_from_settings(p: ProgramSettings) -> Program:
    """The offline default program from ``[program]``."""
    return Program.of(p)


def program_from_state(s: ProgramState) -> Program:
    """The program the cloud sent in ``/v1/sync/state``."""
    return Program.of(s)


class ProgramSource:
    """Holds the current program; the sync task replaces it when the cloud's changes."""

    def __init__(self, default: Program, language: Language | None = None) -> None:
        self.current = default
        self.version: int | None = None  # None: the config's default, not the cloud's
        self.reward = "gift"  # what reaching the goal gives: gift | voucher | lottery
        self.reward_name = "Free gift"
        self.shop = ""  # the business's name as the cloud sends it (receipts print it)
        self.configured_language = language  # ``agent.language``: the owner's choice wins
        self.cloud_language: Language | None = None  # the business's, from the last sync state

    def take_language(self, language: Language) -> None:
        """The business's language from the cloud's sync state."""
        self.cloud_language = language

    @property
    def language(self) -> Language:
        """The branch's language (receipts and the agent's pages): ``agent.language`` if the
        owner set it, else the business's as the cloud last sent it, else English."""
        return self.configured_language or self.cloud_language or DEFAULT_LANGUAGE

    def update(self, state: ProgramState) -> bool:
        """Take the cloud's program; True if it changed."""
        new = program_from_state(state)
        changed = new != self.current or state.version != self.version
        self.current, self.version = new, state.version
        self.reward = state.reward
        self.reward_name = state.reward_name or self.reward_name
        self.shop = state.shop
        return changed
