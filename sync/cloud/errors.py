"""The cloud store's errors: the contract's one hierarchy, under the names the store has always
used (``StoreError`` is ``sync.contract.errors.ApiError``); each knows its status and code."""

from sync.contract.errors import (
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    TooLarge,
    Unauthorized,
)

StoreError = ApiError


class EmailProofNeeded(ApiError):
    """A claim named the email of an existing card: nothing is revealed or attached until the
    address proves itself (issue #19 mails a one-time link); the receipt stays unclaimed."""

    status = 202
    code = "confirm_by_email"


__all__ = [
    "Conflict",
    "EmailProofNeeded",
    "Forbidden",
    "Gone",
    "InvalidInput",
    "NotFound",
    "StoreError",
    "TooLarge",
    "Unauthorized",
]
