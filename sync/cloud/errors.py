"""Root error of the cloud store; each subclass knows its HTTP status and error code."""


class StoreError(Exception):
    """A request the store cannot serve; ``app.py`` turns it into a JSON error answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.field = field


class InvalidInput(StoreError):
    """The request is well-formed JSON but its values are wrong."""

    status = 422
    code = "invalid"


class Unauthorized(StoreError):
    """No key, or a key the store does not know."""

    status = 401
    code = "unauthorized"


class Forbidden(StoreError):
    """A valid key that may not act here (another branch or business)."""

    status = 403
    code = "forbidden"


class NotFound(StoreError):
    """The named thing does not exist (in this business)."""

    status = 404
    code = "not_found"


class Conflict(StoreError):
    """The request clashes with the current state (claimed, redeemed, another body)."""

    status = 409
    code = "conflict"


class Gone(StoreError):
    """The thing existed but has run out (expired code or voucher)."""

    status = 410
    code = "expired"


class TooLarge(StoreError):
    """The body is larger than the configured limit."""

    status = 413
    code = "too_large"
