"""USB HID keyboard-wedge decoding (pure): Linux key events to the text a scanner "typed".

A keyboard-wedge scanner types its reading as key presses and ends with Enter. With the device
grabbed exclusively the desktop's keymap never sees them, so the agent maps key codes itself:
Shift (either side), Caps Lock (toggled by the scanner, letters only, as on a PC), AltGr for
non-US layouts. The key codes are the kernel's (``linux/input-event-codes.h``), so this module
needs no evdev; a test checks them against ``evdev.ecodes``.
"""

from dataclasses import dataclass, field
from typing import Protocol

from drivers.errors import ScannerConfigError
from drivers.framing import MAX_LINE, Overlong, RawLine

EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_HOLD = 0, 1, 2
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
KEY_LEFTCTRL, KEY_RIGHTCTRL = 29, 97
KEY_LEFTALT, KEY_RIGHTALT = 56, 100
KEY_CAPSLOCK, KEY_NUMLOCK = 58, 69
_SHIFTS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
_CTRLS = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL})
_IGNORED = frozenset({KEY_LEFTALT, KEY_NUMLOCK})
UNKNOWN_KEY = "\ufffd"

# Key code -> (plain, with Shift, with AltGr). The letter keys follow the layout; Caps Lock
# upper-cases every alphabetic plain character (ä, ö, ü included), like the Linux console.
Keymap = dict[int, tuple[str, str, str]]

_US_ROWS: list[tuple[int, str, str]] = [
    (2, "1234567890-=", "!@#$%^&*()_+"),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
]
_DE_ROWS: list[tuple[int, str, str]] = [
    (2, "1234567890ß\u00b4", '!"§$%&/()=?`'),  # \u00b4: the acute accent key
    (16, "qwertzuiopü+", "QWERTZUIOPÜ*"),
    (30, "asdfghjklöä^", "ASDFGHJKLÖÄ°"),
    (43, "#yxcvbnm,.-", "'YXCVBNM;:_"),
]
_KEYPAD: Keymap = {
    55: ("*", "*", ""),
    71: ("7", "7", ""),
    72: ("8", "8", ""),
    73: ("9", "9", ""),
    74: ("-", "-", ""),
    75: ("4", "4", ""),
    76: ("5", "5", ""),
    77: ("6", "6", ""),
    78: ("+", "+", ""),
    79: ("1", "1", ""),
    80: ("2", "2", ""),
    81: ("3", "3", ""),
    82: ("0", "0", ""),
    83: (".", ".", ""),
    98: ("/", "/", ""),
    57: (" ", " ", ""),
}
_DE_ALTGR = {3: "²", 4: "³", 8: "{", 9: "[", 10: "]", 11: "}", 12: "\\", 16: "@", 18: "€",
             27: "~", 50: "µ", 86: "|"}  # fmt: skip


def _build(rows: list[tuple[int, str, str]], altgr: dict[int, str], extra: Keymap) -> Keymap:
    keymap: Keymap = dict(_KEYPAD)
    for first, plain, shifted in rows:
        for i, (p, s) in enumerate(zip(plain, shifted, strict=True)):
            keymap[first + i] = (p, s, altgr.get(first + i, ""))
    for code, chars in extra.items():
        keymap[code] = chars
    for code, ch in altgr.items():
        p, s, _ = keymap[code]
        keymap[code] = (p, s, ch)
    return keymap


LAYOUTS: dict[str, Keymap] = {
    "us": _build(_US_ROWS, {}, {}),
    "de": _build(_DE_ROWS, _DE_ALTGR, {86: ("<", ">", "")}),
}


def keymap_for(layout: str) -> Keymap:
    """The keymap of a layout name (``us``, ``de``); ``ScannerConfigError`` if unknown."""
    try:
        return LAYOUTS[layout.lower()]
    except KeyError:
        raise ScannerConfigError(
            f"unknown keyboard layout {layout!r}; known: {', '.join(sorted(LAYOUTS))}"
        ) from None


class KeyEvent(Protocol):
    """What the decoder needs of an ``evdev.InputEvent``."""

    @property
    def type(self) -> int: ...

    @property
    def code(self) -> int: ...

    @property
    def value(self) -> int: ...


@dataclass
class HidDecoder:
    """Feed key events, get a line each time the scanner presses Enter."""

    keymap: Keymap
    caps_lock: bool = False  # the device's Caps Lock LED at open, when known
    max_line: int = MAX_LINE
    _chars: list[str] = field(default_factory=list)
    _size: int = 0
    _shift: set[int] = field(default_factory=set)
    _ctrl: set[int] = field(default_factory=set)
    _altgr: bool = False

    @classmethod
    def for_layout(cls, layout: str, *, caps_lock: bool = False) -> "HidDecoder":
        """A decoder for a layout name (``us``, ``de``)."""
        return cls(keymap_for(layout), caps_lock=caps_lock)

    def feed(self, event: KeyEvent) -> RawLine | None:
        """Take one event; return the finished line (UTF-8) when it was Enter."""
        if event.type != EV_KEY:
            return None  # EV_SYN, EV_MSC scan codes, LEDs: not keys
        code, value = event.code, event.value
        if code in _SHIFTS or code in _CTRLS or code == KEY_RIGHTALT:
            self._modifier(code, value == KEY_UP)
            return None
        if value != KEY_DOWN:
            return None  # releases, and auto-repeat a scanner never means
        if code == KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            return self._finish()
        if code in _IGNORED:
            return None
        self._append(self._char(code))
        return None

    def reset(self) -> None:
        """Forget a partial line and held modifiers (the device went away mid-scan)."""
        self._chars.clear()
        self._size = 0
        self._shift.clear()
        self._ctrl.clear()
        self._altgr = False

    def _modifier(self, code: int, released: bool) -> None:
        if code == KEY_RIGHTALT:
            self._altgr = not released
            return
        held = self._shift if code in _SHIFTS else self._ctrl
        if released:
            held.discard(code)
        else:
            held.add(code)

    def _char(self, code: int) -> str:
        chars = self.keymap.get(code)
        if chars is None or self._ctrl:
            return UNKNOWN_KEY  # a key no code contains, or a control chord
        plain, shifted, altgr = chars
        if self._altgr:
            return altgr or UNKNOWN_KEY
        if self.caps_lock and plain.isalpha() and shifted == plain.upper():
            return plain if self._shift else shifted
        return shifted if self._shift else plain

    def _append(self, ch: str) -> None:
        self._size += len(ch.encode("utf-8"))
        if self._size <= self.max_line:
            self._chars.append(ch)

    def _finish(self) -> RawLine | None:
        text, size = "".join(self._chars), self._size
        self._chars.clear()
        self._size = 0
        if size > self.max_line:
            return Overlong(head=text.encode("utf-8")[:64], size=size)
        return text.encode("utf-8") if text else None


def type_text(text: str, layout: str) -> list[tuple[int, int, int]]:
    """The key events (type, code, value) a scanner set to ``layout`` sends for ``text``.

    The inverse of ``HidDecoder``, used by tests and the fake scanner; Enter is appended.
    """
    keymap = keymap_for(layout)
    where: dict[str, tuple[int, str]] = {}
    for code, (plain, shifted, altgr) in sorted(keymap.items()):
        for ch, how in ((plain, ""), (shifted, "shift"), (altgr, "altgr")):
            if ch and ch not in where:
                where[ch] = (code, how)
    events: list[tuple[int, int, int]] = []
    for ch in text:
        if ch not in where:
            raise ValueError(f"{ch!r} cannot be typed on the {layout} layout")
        code, how = where[ch]
        mod = {"shift": KEY_LEFTSHIFT, "altgr": KEY_RIGHTALT}.get(how)
        if mod is not None:
            events.append((EV_KEY, mod, KEY_DOWN))
        events += [(EV_KEY, code, KEY_DOWN), (EV_KEY, code, KEY_UP)]
        if mod is not None:
            events.append((EV_KEY, mod, KEY_UP))
    return [*events, (EV_KEY, KEY_ENTER, KEY_DOWN), (EV_KEY, KEY_ENTER, KEY_UP)]
