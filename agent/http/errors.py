"""The agent's errors that become HTTP answers (``{"error": {code, message, field}}``)."""


class AgentError(Exception):
    """An error with an HTTP status, a stable code and an optional field."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(AgentError):
    status = 422
    code = "invalid"


class NotFound(AgentError):
    status = 404
    code = "not_found"


class Conflict(AgentError):
    status = 409
    code = "conflict"


class Unavailable(AgentError):
    status = 503
    code = "unavailable"
