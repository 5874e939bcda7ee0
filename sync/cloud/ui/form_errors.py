"""A form's validation errors in the page's language: each pydantic error (by its ``type`` and
the field) becomes a catalogue sentence naming the field's label and the limit; a type not
mapped here says the value is not accepted, never pydantic's English."""

from collections.abc import Mapping
from decimal import Decimal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sync.web.locale_format import number
from sync.web.texts import t

# pydantic's error type -> (catalogue key, the ``ctx`` entry holding the limit, if any)
_BY_TYPE: dict[str, tuple[str, str | None]] = {
    "greater_than": ("form.err.above", "gt"),
    "greater_than_equal": ("form.err.at_least", "ge"),
    "less_than": ("form.err.below", "lt"),
    "less_than_equal": ("form.err.at_most", "le"),
    "int_parsing": ("form.err.whole_number", None),
    "int_type": ("form.err.whole_number", None),
    "int_from_float": ("form.err.whole_number", None),
    "decimal_parsing": ("form.err.number", None),
    "decimal_type": ("form.err.number", None),
    "finite_number": ("form.err.number", None),
    "literal_error": ("form.err.choice", None),
    "string_too_long": ("form.err.too_long", "max_length"),
    "string_too_short": ("form.err.required", None),
    "missing": ("form.err.required", None),
}
# a field whose error says more than its type does
_BY_FIELD: dict[tuple[str, str], tuple[str, str | None]] = {
    ("currency", "string_pattern_mismatch"): ("form.err.currency", None),
}
GENERIC = "form.err.not_accepted"


def _limit(value: object, lang: str) -> str:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return number(value, lang)
    return str(value)


def error_text(error: ErrorDetails, label: str, lang: str) -> str:
    """One pydantic error as the sentence the person reads, about the field ``label``."""
    field = str(error["loc"][0]) if error["loc"] else ""
    key, limit_name = _BY_FIELD.get((field, error["type"])) or _BY_TYPE.get(
        error["type"], (GENERIC, None)
    )
    limit = (error.get("ctx") or {}).get(limit_name) if limit_name else None
    if limit_name is not None and limit is None:  # a limit the sentence needs is missing
        key = GENERIC
    return t(key, lang, field=label, limit=_limit(limit, lang))


def form_errors(err: ValidationError, labels: Mapping[str, str], lang: str) -> dict[str, str]:
    """Each field's first error as a sentence (keyed by field name; ``""``: the form's own),
    ``labels`` giving each field's label as the form shows it."""
    out: dict[str, str] = {}
    for error in err.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        out.setdefault(field, error_text(error, labels.get(field, field), lang))
    return out
