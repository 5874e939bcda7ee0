"""The printer folder's errors: one root, ``PrinterError``, a subclass per thing that goes wrong."""


class PrinterError(Exception):
    """Root of every error raised by ``printers/``."""


class PrinterConfigError(PrinterError):
    """The ``[printer]`` settings cannot work (unknown profile, bad address)."""


class PrinterUnavailable(PrinterError):
    """A job could not be printed; ``reason`` is the short word stored on the job."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PrintJobNotFound(PrinterError):
    """No print job (or no receipt for an order) with that id."""


class PrintJobStateError(PrinterError):
    """The job is in a state that does not allow the operation (e.g. retrying a printed job)."""


class JobStoreError(PrinterError):
    """The store that keeps print jobs failed (the agent's database raises a subclass)."""
