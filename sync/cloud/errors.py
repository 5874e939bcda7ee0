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

__all__ = [
    "Conflict",
    "Forbidden",
    "Gone",
    "InvalidInput",
    "NotFound",
    "StoreError",
    "TooLarge",
    "Unauthorized",
]
