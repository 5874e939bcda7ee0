"""The quick canonical form (orjson) is the standard one, byte for byte, on float-free values:
the payload hash the cloud checks depends on it."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.contract.events import canonical_json, canonical_json_plain

# Every character class the two encoders might write differently: control characters, DEL,
# non-ASCII, lone surrogates, quotes and backslashes.
texts = st.text(max_size=20) | st.sampled_from(["\x7f", "\x00\x1f", "é", "\ud800", '"\\', "\u2028"])
scalars = st.none() | st.booleans() | st.integers() | texts
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500)
@given(value=values)
def test_the_quick_canonical_form_is_the_standard_one(value: Any) -> None:
    assert canonical_json_plain(value) == canonical_json(value)


def test_integers_beyond_64_bits_go_the_standard_way() -> None:
    assert canonical_json_plain({"n": 2**70, "a": 1}) == '{"a":1,"n":1180591620717411303424}'
