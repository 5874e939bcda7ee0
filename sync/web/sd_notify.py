"""systemd's readiness protocol (``Type=notify``) over ``$NOTIFY_SOCKET``, no library needed.

The agent and the cloud send ``READY=1`` once they listen, so ``systemctl start`` returns (and
units ordered after them start) only when the port answers; ``STOPPING=1`` when a stop begins,
so systemd waits (up to ``TimeoutStopSec``) while the last group commit finishes. Outside
systemd ``NOTIFY_SOCKET`` is unset and every call does nothing.
"""

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to systemd; True if there was a socket to send to."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket: a leading NUL byte instead of "@"
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as err:  # never a reason to stop serving; systemd will time out and say so
        log.warning("sd_notify %s to %s failed: %s", state.split("=")[0], address, err)
        return False
    return True


def ready(status: str) -> bool:
    """Tell systemd the service is up; ``status`` shows in ``systemctl status``."""
    return notify(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")


def stopping() -> bool:
    """Tell systemd a clean stop has begun."""
    return notify("STOPPING=1\nSTATUS=stopping: finishing the last writes")
