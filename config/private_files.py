"""Files that hold secrets (``cloud.db``: device secrets, the card-link key; ``agent.db``:
names, emails, the outbox) are created readable by their owner only.

``private_database(path)`` before SQLite opens ``path``: missing folders are made 0700, the
database file is created (or narrowed to) 0600, and so are any ``-wal``/``-shm``/``-journal``
beside it; SQLite gives the files it makes later the database file's own mode.
"""

import contextlib
import os
from pathlib import Path

_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Make ``path`` and any missing parents 0700 (existing folders are left as they are)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode passes through the umask


def private_database(path: Path) -> None:
    """Create the SQLite file ``path`` 0600 (its folder 0700), or narrow it and its side files
    to 0600 if they exist (databases made by releases before this one)."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for p in (path, *(path.with_name(path.name + s) for s in _SIDE_FILES)):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            continue
