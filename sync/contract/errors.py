"""The one error base of both HTTP services (pure): a status, a stable code, a sentence, a field.

The agent and the cloud raise these (``agent.http.errors`` and ``sync.cloud.errors`` re-export
them under their old names); ``sync.web.http_util`` turns any ``ApiError`` into the one JSON
answer ``{"error": {"code", "message", "field"}}``.
"""


class ApiError(Exception):
    """A request that cannot be served, with its HTTP status, stable code and optional field."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra  # more keys of the error object (``valid_from`` of ``not_active``)
        if code is not None:
            self.code = code


class InvalidInput(ApiError):
    """The request is well-formed JSON but its values are wrong."""

    status = 422
    code = "invalid"


class Unauthorized(ApiError):
    """No key, or a key the service does not know."""

    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """A valid key that may not act here (another branch or business)."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """The named thing does not exist (for this caller)."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The request clashes with the current state (claimed, redeemed, another body)."""

    status = 409
    code = "conflict"


class Gone(ApiError):
    """The thing existed but has run out (expired code or voucher)."""

    status = 410
    code = "expired"


class TooLarge(ApiError):
    """The body is larger than the configured limit."""

    status = 413
    code = "too_large"


class Unavailable(ApiError):
    """A part the answer needs is down for now (disk full, printer queue closed)."""

    status = 503
    code = "unavailable"
