"""The pure core: stamp rules (property tests) and receipt-QR tokens."""

import base64
import string
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.contract import claim_token
from sync.contract.claim_token import TokenError, TokenProblem, claim_url, mint, order_ref, verify
from sync.contract.limits import MAX_STAMPS_PER_CHECK, MAX_STAMPS_PER_ORDER
from sync.contract.program import Program, stamps_for

totals = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False)
steps = st.decimals(min_value=Decimal("0.01"), max_value=1000, places=2, allow_nan=False)
caps = st.none() | st.integers(min_value=0, max_value=50)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "a-device-secret-of-some-length"
QR_ALPHANUMERIC = set(string.ascii_uppercase + string.digits + " $%*+-./:")


def test_by_amount_rounds_down_eur_23_50_at_step_10_gives_2() -> None:
    assert stamps_for(Program(rule="by_amount", step=Decimal("10")), Decimal("23.50")) == 2
    assert stamps_for(Program(rule="by_amount", step=Decimal("10")), Decimal("9.99")) == 0
    assert stamps_for(Program(rule="by_amount", step=Decimal("10")), Decimal("10.00")) == 1


def test_per_order_and_min_total() -> None:
    program = Program(rule="per_order", stamps_per_order=2, min_total=Decimal("5"))
    assert stamps_for(program, Decimal("4.99")) == 0
    assert stamps_for(program, Decimal("5")) == 2
    assert stamps_for(program, Decimal("500")) == 2


@given(total=totals, step=steps, cap=caps)
def test_by_amount_is_floor_of_total_over_step_within_the_cap(
    total: Decimal, step: Decimal, cap: int | None
) -> None:
    program = Program(rule="by_amount", step=step, max_stamps_per_order=cap)
    expected = int((total / step).to_integral_value(rounding=ROUND_FLOOR))
    # the program's cap, or the shared MAX_STAMPS_PER_CHECK; never above the ceiling
    expected = min(expected, MAX_STAMPS_PER_CHECK if cap is None else cap, MAX_STAMPS_PER_ORDER)
    assert stamps_for(program, total) == expected >= 0


@given(a=totals, b=totals, step=steps, cap=caps, rule=st.sampled_from(["per_order", "by_amount"]))
def test_stamps_never_negative_and_monotone_in_the_total(
    a: Decimal, b: Decimal, step: Decimal, cap: int | None, rule: str
) -> None:
    program = Program.model_validate(
        {"rule": rule, "step": step, "max_stamps_per_order": cap, "min_total": Decimal("3")}
    )
    low, high = sorted((a, b))
    assert 0 <= stamps_for(program, low) <= stamps_for(program, high)


def test_negative_or_nan_total_is_refused() -> None:
    for bad in (Decimal("-1"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError):
            stamps_for(Program(), bad)


def _token(**kw: object) -> str:
    args: dict[str, object] = {
        "secret": SECRET,
        "device_id": 42,
        "order_id": "CHK-1001",
        "stamps": 3,
        "now": NOW,
        "ttl_hours": 24,
    } | kw
    text, _ = mint(**args)  # type: ignore[arg-type]
    return text


def test_token_round_trip_says_device_order_stamps_and_expiry() -> None:
    text = _token()
    claim = verify(text, secret=SECRET, now=NOW + timedelta(hours=1))
    assert (claim.device_id, claim.stamps, claim.order_ref) == (42, 3, order_ref("CHK-1001"))
    assert claim.expires_at == NOW + timedelta(hours=24)
    assert claim_token.peek_device(text) == 42
    assert verify(text.lower(), secret=SECRET, now=NOW).stamps == 3


# Minted by the release before ``mint_lean`` was folded into ``mint`` (device 7, check 1001,
# 3 stamps, at NOW, 30 days): receipts printed then are still in customers' pockets.
OLD_TOKENS = {
    "till-2": "AEAAAAAHYYQOS7TIKFTRUAADNMCCVQAC2BWPXHUUL4FYD6RJ",
    None: "AEAAAAAH7ZTV7Z5K52BQWAADNMCCVQAC2A46I4TTVBZWVHEK",  # the till-less form
}


@pytest.mark.parametrize("till", list(OLD_TOKENS))
def test_given_a_token_of_the_last_release_then_it_verifies_and_is_minted_alike(
    till: str | None,
) -> None:
    old = OLD_TOKENS[till]
    claim = verify(old, secret=SECRET, now=NOW + timedelta(days=29))
    assert (claim.device_id, claim.stamps) == (7, 3)
    assert claim.order_ref == order_ref("1001", till)
    text, minted = mint(secret=SECRET, device_id=7, order_id="1001", stamps=3, now=NOW,
                        ttl_hours=720, till=till)  # fmt: skip
    assert text == old and minted == claim


def test_claim_url_stays_in_qr_alphanumeric_mode_and_under_80_characters() -> None:
    # The token is 48 characters, which leaves 31 for the base URL (scheme and path included).
    base = "https://stamps.examplecafe.eu/c/"[:31]
    url = claim_url(base, _token())
    assert len(url) == 79
    assert set(url) <= QR_ALPHANUMERIC


@pytest.mark.parametrize("position", range(claim_token.TOKEN_CHARS))
def test_any_changed_character_fails(position: int) -> None:
    text = _token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    swapped = alphabet[(alphabet.index(text[position]) + 1) % 32]
    forged = text[:position] + swapped + text[position + 1 :]
    with pytest.raises(TokenError) as err:
        verify(forged, secret=SECRET, now=NOW)
    assert err.value.problem in (
        TokenProblem.BAD_SIGNATURE,
        TokenProblem.UNSUPPORTED_VERSION,
        TokenProblem.MALFORMED,
    )


def test_wrong_key_expired_and_malformed_fail_with_distinct_reasons() -> None:
    text = _token()
    problems = {}
    for name, call in {
        "wrong_key": lambda: verify(text, secret="another-secret-entirely", now=NOW),
        "expired": lambda: verify(text, secret=SECRET, now=NOW + timedelta(hours=24)),
        "malformed": lambda: verify("HELLO", secret=SECRET, now=NOW),
        "not_base32": lambda: verify("1" * claim_token.TOKEN_CHARS, secret=SECRET, now=NOW),
        "version": lambda: verify(
            base64.b32encode(b"\x09" + base64.b32decode(text)[1:]).decode(),
            secret=SECRET,
            now=NOW,
        ),
    }.items():
        with pytest.raises(TokenError) as err:
            call()
        problems[name] = err.value.problem
    assert problems == {
        "wrong_key": TokenProblem.BAD_SIGNATURE,
        "expired": TokenProblem.EXPIRED,
        "malformed": TokenProblem.MALFORMED,
        "not_base32": TokenProblem.MALFORMED,
        "version": TokenProblem.UNSUPPORTED_VERSION,
    }


def test_two_orders_never_share_a_token() -> None:
    assert _token(order_id="A") != _token(order_id="B")
