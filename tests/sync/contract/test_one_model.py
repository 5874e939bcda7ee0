"""Each concept once: the program's views agree with ``Program``, limits agree between the
pydantic types and the hand-written checks, normalisation is idempotent, one error base."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from agent.http import errors as agent_errors
from config.agent import ProgramSettings
from sync.cloud import book, intake
from sync.cloud import errors as cloud_errors
from sync.cloud.models import ProgramConfig
from sync.contract import errors
from sync.contract.card_code import (
    CardCodeError,
    canonical_card_text,
    is_card_code,
    new_card_code,
    normalize_card_code,
)
from sync.contract.customers import CustomerRef, canonical_card, canonical_email, ref_key_of
from sync.contract.events import ProgramState
from sync.contract.limits import (
    ORDER_ID_RE,
    RULE_NAMES,
    TILL_MAX_LEN,
    OrderId,
    Till,
    is_order_id,
    is_till,
)
from sync.contract.program import PROGRAM_FIELDS, Program, program_fields, stamps_for

VIEWS: tuple[type[Program], ...] = (ProgramSettings, ProgramState, ProgramConfig)

# Values on both sides of every limit, so the views must refuse exactly what Program refuses.
decimals = st.one_of(
    st.decimals(min_value=-2, max_value=2_000_000, places=2, allow_nan=False),
    st.sampled_from([Decimal("0"), Decimal("1000000"), Decimal("1000000.01"), Decimal("NaN")]),
)
ints = st.integers(min_value=-3, max_value=1003)
fields = st.fixed_dictionaries(
    {
        "rule": st.sampled_from(["per_order", "by_amount", "per_visit"]),
        "step": decimals,
        "stamps_per_order": ints,
        "min_total": st.none() | decimals,
        "max_stamps_per_order": st.none() | ints,
        "goal": ints,
        "currency": st.sampled_from(["EUR", "USD", "eur", "EURO", ""]),
    }
)


def _valid(model: type[BaseModel], data: dict[str, Any]) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


@given(data=fields)
def test_every_view_accepts_exactly_what_program_accepts_with_the_same_values(
    data: dict[str, Any],
) -> None:
    """Given program fields on either side of each limit, when each view reads them, then each
    accepts them iff ``Program`` does, holds the same values and earns the same stamps."""
    program = _valid(Program, data)
    for view in VIEWS:
        got = _valid(view, data)
        assert (got is None) == (program is None), view.__name__
        if program is not None:
            assert isinstance(got, Program)
            assert program_fields(got) == program_fields(program)
            assert Program.of(got) == program
            for total in (Decimal("0"), Decimal("9.99"), Decimal("23.50"), Decimal("1000")):
                assert stamps_for(got, total) == stamps_for(program, total)


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_no_view_declares_limits_of_its_own(view: type[Program]) -> None:
    """Given a view of the program, then its shared fields carry ``Program``'s limits exactly."""
    for name in PROGRAM_FIELDS:
        assert view.model_fields[name].metadata == Program.model_fields[name].metadata, name
    assert list(view.model_fields)[: len(PROGRAM_FIELDS)] == list(PROGRAM_FIELDS)


@given(data=fields, version=st.integers(min_value=0, max_value=10**6))
def test_cloud_config_state_and_rules_are_the_same_program(
    data: dict[str, Any], version: int
) -> None:
    """Given a cloud ``ProgramConfig``, when it becomes the wire state and the agent's rules, then
    all three hold the same program and the wire JSON reads back to the same state."""
    config = _valid(ProgramConfig, data)
    if config is None:
        return
    assert isinstance(config, ProgramConfig)
    state = config.state(version)
    assert program_fields(state) == program_fields(config) == program_fields(config.rules())
    assert ProgramState.model_validate_json(state.model_dump_json()) == state
    assert (state.reward, state.version) == (config.reward, version)


def test_defaults_are_programs_defaults() -> None:
    """Given no values, then the settings and the cloud config default to ``Program()``."""
    assert Program.of(ProgramSettings()) == Program()
    assert Program.of(ProgramConfig()) == Program()
    assert str(ProgramSettings().step) == "10.00"  # written as it always was


def test_rule_names_are_the_literal() -> None:
    assert sorted(RULE_NAMES) == ["by_amount", "per_order"]


def _mangle(code: str, flips: list[bool], pad: tuple[str, str]) -> str:
    text = "".join(c.lower() if f else c for c, f in zip(code, flips, strict=False))
    return pad[0] + text + code[len(flips) :] + pad[1]


paddings = st.tuples(st.sampled_from(["", " ", "\t", "\n "]), st.sampled_from(["", " ", "\r\n"]))


@given(seed=st.randoms(), flips=st.lists(st.booleans(), max_size=15), pad=paddings)
def test_card_codes_typed_any_case_normalise_to_the_one_code(
    seed: Any, flips: list[bool], pad: tuple[str, str]
) -> None:
    """Given a card code in mixed case with spaces around, then the canonical form is the code
    itself, normalising is idempotent, and ``CustomerRef.canonical`` gives the same."""
    code = new_card_code()
    typed = _mangle(code, flips, pad)
    assert normalize_card_code(typed) == canonical_card(typed) == code
    assert normalize_card_code(code) == code
    assert CustomerRef(card=typed[:64]).canonical() == CustomerRef(card=code)


@given(text=st.text(max_size=80))
def test_normalising_any_text_is_idempotent(text: str) -> None:
    """Given any text, then canonical card and email forms are fixed points of themselves."""
    card = canonical_card(text)
    assert canonical_card(card) == card == canonical_card_text(text)
    email = canonical_email(text)
    assert canonical_email(email) == email
    if is_card_code(text):
        assert normalize_card_code(text) == card
    else:
        with pytest.raises(CardCodeError):
            normalize_card_code(text)


refs = st.one_of(
    st.builds(lambda c: {"card": c}, st.text(min_size=1, max_size=64)),
    st.builds(lambda n: {"number": f"{n:06d}"}, st.integers(min_value=0, max_value=999_999)),
    st.builds(
        lambda a, b: {"email": f"{a}@{b}"},
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="@"),
                min_size=1, max_size=30),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="@"),
                min_size=1, max_size=30),
    ),
)  # fmt: skip


@given(raw=refs)
def test_every_index_key_is_the_one_canonical_key(raw: dict[str, str]) -> None:
    """Given a customer reference, then the cloud's book key, the intake fast path's key and
    ``CustomerRef.key`` are one and the same, and canonical references keep their key."""
    ref = CustomerRef.model_validate(raw)
    ((kind, text),) = raw.items()
    assert ref.key() == ref_key_of(ref.kind, ref.text) == book.ref_key(ref)
    assert ref.kind == kind and ref.text == text
    try:
        fast = intake._ref(raw)
    except intake._Unsure:
        fast = None
    if fast is not None:
        assert fast == ref.key()
    if kind != "card" or is_card_code(text):
        canon = ref.canonical()
        assert canon.canonical() == canon
        assert canon.key() == ref.key()


@given(text=st.text(max_size=70))
def test_order_id_and_till_checks_agree_with_the_pydantic_types(text: str) -> None:
    """Given any text, then the hand-written order id and till checks say what the types say."""
    by_model = _ok(OrderId, text)
    assert (ORDER_ID_RE.fullmatch(text) is not None) == by_model == is_order_id(text)
    plain = not any(c < " " or c == "\x7f" for c in text)  # no control characters
    assert is_till(text) == _ok(Till, text) == (1 <= len(text) <= TILL_MAX_LEN and plain)


def _ok(kind: Any, value: object) -> bool:
    try:
        TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return False
    return True


def test_one_error_base_under_the_old_names() -> None:
    """Given the agent's and the cloud's error names, then they are the contract's classes, so
    the shared middleware answers both from the base alone."""
    assert agent_errors.AgentError is cloud_errors.StoreError is errors.ApiError
    assert agent_errors.InvalidInput is cloud_errors.InvalidInput is errors.InvalidInput
    table = {
        errors.ApiError: (400, "bad_request"),
        errors.InvalidInput: (422, "invalid"),
        errors.Unauthorized: (401, "unauthorized"),
        errors.Forbidden: (403, "forbidden"),
        errors.NotFound: (404, "not_found"),
        errors.Conflict: (409, "conflict"),
        errors.Gone: (410, "expired"),
        errors.TooLarge: (413, "too_large"),
        errors.Unavailable: (503, "unavailable"),
    }
    for cls, (status, code) in table.items():
        err = cls("went wrong", field="f")
        assert (err.status, err.code, err.message, err.field, str(err)) == (
            status, code, "went wrong", "f", "went wrong"
        )  # fmt: skip
        assert cls("x", code="other").code == "other"
