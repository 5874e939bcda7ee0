"""The agent's errors that become HTTP answers: the contract's one hierarchy, under the names
the agent has always used (``AgentError`` is ``sync.contract.errors.ApiError``)."""

from sync.contract.errors import ApiError, Conflict, Gone, InvalidInput, NotFound, Unavailable

AgentError = ApiError

__all__ = ["AgentError", "Conflict", "Gone", "InvalidInput", "NotFound", "Unavailable"]
