"""Pure scanning core: framing, reading codes, double-read debouncing, cooldown arithmetic."""

import string

from hypothesis import given
from hypothesis import strategies as st

from agent.scans.policy import PendingBook, PendingScan, cooldown_left
from drivers.debounce import Debouncer
from drivers.framing import MAX_LINE, LineFramer, Overlong
from drivers.scan_code import CodeKind, Rejected, Rejection, ScannedCode, read_line, read_text
from sync.contract.card_code import new_card_code
from sync.contract.reward_code import is_reward_code

TOKEN = "A" * 24 + "B" * 24  # 48 base32 characters, like a receipt-QR token


def test_given_reads_split_anywhere_then_the_same_lines_come_out() -> None:
    codes = [new_card_code() for _ in range(3)]
    stream = b"".join(c.encode() + b"\r" for c in codes)
    for cut in range(1, len(stream)):
        framer = LineFramer("\r")
        out = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert out == [c.encode() for c in codes]


def test_given_crlf_cr_or_lf_suffixes_then_each_scan_is_one_line() -> None:
    framer = LineFramer("\r")
    assert framer.feed(b"111111\r\n222222\n333333\r") == [b"111111", b"222222", b"333333"]


def test_given_a_partial_line_then_nothing_until_its_terminator() -> None:
    framer = LineFramer("\n")
    assert framer.feed(b"SC12") == []
    assert framer.pending == 4
    assert framer.feed(b"34\n") == [b"SC1234"]


def test_given_an_overlong_line_then_one_marker_and_the_next_line_is_intact() -> None:
    framer = LineFramer("\r")
    out = framer.feed(b"x" * 300)
    out += framer.feed(b"y" * 300)
    out += framer.feed(b"z" * 5000 + b"\r123456\r")
    assert len(out) == 2
    assert isinstance(out[0], Overlong) and out[0].size == 5600
    assert framer.pending == 0
    assert out[1] == b"123456"


def test_given_exactly_512_bytes_then_kept_and_513_then_overlong() -> None:
    framer = LineFramer("\r")
    assert framer.feed(b"a" * MAX_LINE + b"\r") == [b"a" * MAX_LINE]
    (line,) = framer.feed(b"a" * (MAX_LINE + 1) + b"\r")
    assert isinstance(line, Overlong)


@given(st.binary(max_size=2000))
def test_given_any_bytes_then_the_framer_never_holds_more_than_the_limit(data: bytes) -> None:
    framer = LineFramer("\r")
    for line in framer.feed(data):
        assert isinstance(line, Overlong) or 0 < len(line) <= MAX_LINE
        assert isinstance(line, Overlong) or (b"\r" not in line and b"\n" not in line)
    assert framer.pending <= MAX_LINE


def test_given_a_card_code_in_any_case_with_noise_then_read_as_card() -> None:
    code = new_card_code()
    assert read_line(code.encode()) == ScannedCode(CodeKind.CARD, code)
    assert read_text(f"  {code.lower()} ") == ScannedCode(CodeKind.CARD, code)
    assert read_text(f"]Q1{code}") == ScannedCode(CodeKind.CARD, code)


def test_given_six_digits_then_a_card_number_and_other_lengths_rejected() -> None:
    assert read_text("004711") == ScannedCode(CodeKind.NUMBER, "004711")
    for text in ("04711", "0047110", "٠٠٤٧١١"):  # the last: Arabic-Indic digits
        result = read_text(text)
        assert isinstance(result, Rejected) and result.reason == Rejection.UNKNOWN


def test_given_a_receipt_qr_url_then_read_as_receipt_with_its_token() -> None:
    for url in (
        f"HTTP://127.0.0.1:8788/C/{TOKEN}",
        f"https://stamps.example.com/c/{TOKEN.lower()}",
        f"http://x.example/shop/c/{TOKEN}/",
    ):
        assert read_text(url) == ScannedCode(CodeKind.RECEIPT, TOKEN)


def test_given_a_card_code_with_one_wrong_character_then_rejected_as_bad_check() -> None:
    code = new_card_code()
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    result = read_text(wrong)
    assert isinstance(result, Rejected) and result.reason == Rejection.BAD_CHECK


def test_given_garbage_then_rejected_with_a_reason_and_a_printable_preview() -> None:
    cases = {
        b"": Rejection.EMPTY,
        b"   ": Rejection.EMPTY,
        b"\xff\xfe\x00SC": Rejection.NOT_UTF8,
        b"SC\x1b[2J": Rejection.CONTROL_CHARS,
        b"https://evil.example/": Rejection.UNKNOWN,
        b"4006381333931": Rejection.UNKNOWN,  # a product EAN-13
        Overlong(head=b"x" * 64, size=9000): Rejection.TOO_LONG,
    }
    for raw, reason in cases.items():
        result = read_line(raw)
        assert isinstance(result, Rejected), raw
        assert result.reason == reason, raw
        assert result.text.isprintable() and len(result.text) <= 65
        assert result.message


@given(st.binary(max_size=600))
def test_given_any_bytes_then_read_line_answers_without_raising(raw: bytes) -> None:
    result = read_line(raw)
    assert isinstance(result, ScannedCode | Rejected)


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20))
def test_given_random_alnum_then_only_valid_codes_are_accepted(text: str) -> None:
    result = read_text(text)
    if isinstance(result, ScannedCode):
        assert result.kind in (CodeKind.CARD, CodeKind.NUMBER, CodeKind.REWARD)
        if result.kind == CodeKind.REWARD:  # a well-formed reward code with a letter in it
            assert is_reward_code(text) and not text.isdigit()


def test_given_reward_codes_then_read_as_rewards_and_product_barcodes_are_not() -> None:
    """A reward code as the phone shows it, lower case or without dashes, is a reward; twelve
    digits (a UPC-A product barcode) are not, even when every digit is in the code alphabet."""
    for shown in ("7KQ2-MX9D-H4TP", "7kq2mx9dh4tp", "]Q17KQ2 MX9D H4TP"):
        assert read_text(shown) == ScannedCode(CodeKind.REWARD, "7KQ2-MX9D-H4TP")
    assert isinstance(read_text("234567892345"), Rejected)


def test_given_the_same_code_within_2s_then_it_counts_once_and_at_2s_again() -> None:
    d = Debouncer()
    assert not d.is_repeat("till-1", "SC1", 100.0)
    assert d.is_repeat("till-1", "SC1", 101.999)
    # The window slides: the repeat at 101.999 restarts it.
    assert d.is_repeat("till-1", "SC1", 103.5)
    assert not d.is_repeat("till-1", "SC1", 105.5)  # exactly 2 s after the last read
    assert not d.is_repeat("till-2", "SC1", 105.6)  # another scanner is another read
    assert not d.is_repeat("till-1", "SC2", 105.7)


def test_given_many_codes_then_the_debouncer_forgets_old_ones() -> None:
    d = Debouncer(max_keys=10)
    for i in range(100):
        d.is_repeat("s", f"c{i}", float(i * 3))
    assert len(d._seen) <= 11


def test_given_a_pending_scan_then_taken_inside_the_window_edge_inclusive() -> None:
    book = PendingBook(window_s=120)
    book.put(PendingScan("s1", "till-1", "card", "SC1", 1000.0))
    assert book.take("till-2", 1050.0) is None
    assert book.take("till-1", 1120.0) is not None
    assert book.take("till-1", 1120.0) is None  # taken once


def test_given_a_pending_scan_then_not_taken_after_the_window() -> None:
    book = PendingBook(window_s=120)
    book.put(PendingScan("s1", "till-1", "card", "SC1", 1000.0))
    assert book.take("till-1", 1120.001) is None
    assert book.expired(1119.0) == []
    assert [s.scan_id for s in book.expired(1120.001)] == ["s1"]
    assert len(book) == 0


def test_given_another_card_at_the_same_till_then_it_replaces_the_first() -> None:
    book = PendingBook(window_s=120)
    assert book.put(PendingScan("s1", "t", "card", "SC1", 1.0)) is None
    assert book.put(PendingScan("s2", "t", "card", "SC1", 2.0)) is None  # same card again
    replaced = book.put(PendingScan("s3", "t", "card", "SC2", 3.0))
    assert replaced is not None and replaced.scan_id == "s2"
    assert book.next_deadline() == 123.0


def test_cooldown_edges() -> None:
    assert cooldown_left(None, 5.0, 600) == 0.0
    assert cooldown_left(1000.0, 1599.5, 600) == 0.5
    assert cooldown_left(1000.0, 1600.0, 600) == 0.0
    assert cooldown_left(2000.0, 1000.0, 600) == 600.0  # clock set back: still closed
    assert cooldown_left(1000.0, 1001.0, 0) == 0.0
