"""HID keyboard-wedge decoding on recorded evdev event sequences (``evdev.InputEvent``s built
without a device, as a scanner on the US or German layout sends them)."""

import string

import pytest
from evdev import InputEvent, ecodes
from hypothesis import given
from hypothesis import strategies as st

from drivers import hid_keymap
from drivers.errors import ScannerConfigError
from drivers.framing import MAX_LINE, Overlong, RawLine
from drivers.hid_keymap import LAYOUTS, HidDecoder, type_text
from sync.contract.card_code import new_card_code

DOWN, UP = 1, 0


def _key(name: str, value: int, t: float = 0.0) -> InputEvent:
    sec = int(t)
    return InputEvent(sec, int((t - sec) * 1e6), ecodes.EV_KEY, ecodes.ecodes[name], value)


def _tap(name: str) -> list[InputEvent]:
    # A real keyboard report: MSC_SCAN, the key, SYN_REPORT — for down and up.
    out = []
    for value in (DOWN, UP):
        out += [
            InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004),
            _key(name, value),
            InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        ]
    return out


def _shifted(name: str, shift: str = "KEY_LEFTSHIFT") -> list[InputEvent]:
    return [_key(shift, DOWN), *_tap(name), _key(shift, UP)]


def _altgr(name: str) -> list[InputEvent]:
    return [_key("KEY_RIGHTALT", DOWN), *_tap(name), _key("KEY_RIGHTALT", UP)]


def _decode(decoder: HidDecoder, events: list[InputEvent]) -> list[RawLine]:
    return [line for ev in events if (line := decoder.feed(ev)) is not None]


def test_the_keymap_uses_the_kernels_key_codes() -> None:
    for attr in dir(hid_keymap):
        if attr.startswith("KEY_") and attr not in ("KEY_UP", "KEY_DOWN", "KEY_HOLD"):
            assert getattr(hid_keymap, attr) == ecodes.ecodes[attr], attr
    us = LAYOUTS["us"]
    assert us[ecodes.KEY_Q][0] == "q" and us[ecodes.KEY_SLASH][:2] == ("/", "?")
    assert us[ecodes.KEY_GRAVE][:2] == ("`", "~") and us[ecodes.KEY_KP7][0] == "7"


def test_given_a_us_scanner_with_shift_then_upper_case_and_symbols() -> None:
    # "Sc1!" then Enter, right shift for the "!"
    events = [
        *_shifted("KEY_S"),
        *_tap("KEY_C"),
        *_tap("KEY_1"),
        *_shifted("KEY_1", "KEY_RIGHTSHIFT"),
        *_tap("KEY_ENTER"),
    ]
    assert _decode(HidDecoder.for_layout("us"), events) == [b"Sc1!"]


def test_given_caps_lock_toggled_by_the_scanner_then_letters_flip_and_digits_do_not() -> None:
    events = [
        *_tap("KEY_CAPSLOCK"),
        *_tap("KEY_S"),
        *_shifted("KEY_C"),  # caps + shift: lower case
        *_tap("KEY_1"),
        *_shifted("KEY_1"),  # caps does not touch digits
        *_tap("KEY_CAPSLOCK"),
        *_tap("KEY_X"),
        *_tap("KEY_KPENTER"),
    ]
    assert _decode(HidDecoder.for_layout("us"), events) == [b"Sc1!x"]


def test_given_caps_lock_already_on_at_open_then_the_card_code_still_reads() -> None:
    code = new_card_code()
    events = [
        ev for c in code for ev in (_shifted(f"KEY_{c}") if c.isalpha() else _tap(f"KEY_{c}"))
    ]
    # The scanner "types" upper case with shift while the LED says caps lock is on.
    decoder = HidDecoder.for_layout("us", caps_lock=True)
    (line,) = _decode(decoder, [*events, *_tap("KEY_ENTER")])
    assert isinstance(line, bytes) and line.decode().upper() == code


def test_given_a_german_qwertz_scanner_then_y_z_symbols_umlauts_and_altgr_read_right() -> None:
    events = [
        *_tap("KEY_Y"),  # z on QWERTZ
        *_tap("KEY_Z"),  # y
        *_shifted("KEY_7"),  # /
        *_shifted("KEY_DOT"),  # :
        *_tap("KEY_SLASH"),  # -
        *_tap("KEY_LEFTBRACE"),  # ü
        *_shifted("KEY_SEMICOLON"),  # Ö
        *_altgr("KEY_Q"),  # @
        *_altgr("KEY_8"),  # [
        *_tap("KEY_102ND"),  # <
        *_tap("KEY_ENTER"),
    ]
    assert _decode(HidDecoder.for_layout("de"), events) == ["zy/:-üÖ@[<".encode()]


def test_given_caps_lock_on_a_german_scanner_then_umlauts_upper_and_sz_unchanged() -> None:
    events = [
        *_tap("KEY_CAPSLOCK"),
        *_tap("KEY_APOSTROPHE"),
        *_tap("KEY_MINUS"),
        *_tap("KEY_ENTER"),
    ]
    assert _decode(HidDecoder.for_layout("DE"), events) == ["Äß".encode()]


def test_given_a_receipt_url_typed_on_a_german_layout_then_the_url_reads_back() -> None:
    url = "HTTP://127.0.0.1:8788/C/" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" + "Q" * 16
    decoder = HidDecoder.for_layout("de")
    events = [InputEvent(0, 0, *e) for e in type_text(url, "de")]
    assert _decode(decoder, events) == [url.encode()]


def test_given_a_us_decoder_on_a_german_scanner_then_the_wrong_text_comes_out() -> None:
    # The configured layout matters: the same keys read as "HTTP>??" on US.
    events = [InputEvent(0, 0, *e) for e in type_text("HTTP://", "de")]
    assert _decode(HidDecoder.for_layout("us"), events) == [b"HTTP>&&"]


def test_given_unknown_keys_ctrl_chords_or_repeats_then_marked_or_ignored() -> None:
    events = [
        *_tap("KEY_F5"),
        _key("KEY_LEFTCTRL", DOWN),
        *_tap("KEY_J"),
        _key("KEY_LEFTCTRL", UP),
        _key("KEY_A", DOWN),
        _key("KEY_A", 2),  # auto-repeat
        _key("KEY_A", UP),
        *_tap("KEY_ENTER"),
        *_tap("KEY_ENTER"),  # an empty line is no line
    ]
    assert _decode(HidDecoder.for_layout("us"), events) == ["\ufffd\ufffda".encode()]


def test_given_a_stream_longer_than_512_then_one_overlong_and_the_next_is_fine() -> None:
    decoder = HidDecoder.for_layout("us")
    events = [InputEvent(0, 0, *e) for e in type_text("7" * 5000, "us")]
    events += [InputEvent(0, 0, *e) for e in type_text("123456", "us")]
    lines = _decode(decoder, events)
    assert len(lines) == 2 and isinstance(lines[0], Overlong) and lines[0].size == 5000
    assert lines[1] == b"123456"
    assert len(decoder._chars) == 0 and MAX_LINE == 512


def test_given_an_unknown_layout_then_a_configuration_error() -> None:
    with pytest.raises(ScannerConfigError, match="layout"):
        HidDecoder.for_layout("dvorak-fr")


@given(
    st.sampled_from(["us", "de"]),
    st.text(alphabet=string.ascii_letters + string.digits + ":/.-_", min_size=1, max_size=80),
)
def test_given_any_typable_text_then_decoding_its_key_events_gives_it_back(
    layout: str, text: str
) -> None:
    decoder = HidDecoder.for_layout(layout)
    events = [InputEvent(0, 0, *e) for e in type_text(text, layout)]
    assert _decode(decoder, events) == [text.encode()]
