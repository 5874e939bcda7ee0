"""The scanner side's errors: one root (``ScannerError``); the agent turns them into answers."""


class ScannerError(Exception):
    """Root of every error raised by the scanner drivers."""


class ScannerUnavailable(ScannerError):
    """The device cannot be opened or went away (unplugged, connection lost); retry later."""


class ScannerConfigError(ScannerError):
    """A scanner's settings cannot work (unknown kind or keyboard layout, bad address)."""
