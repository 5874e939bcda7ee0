"""One look at the configured printer for ``stampedge doctor``: reachable, its DLE EOT state."""

import os
from pathlib import Path

from config.agent import PrinterSettings
from printers.connections import make_connection
from printers.errors import PrinterError, PrinterUnavailable
from printers.service import query_status
from printers.status import PrinterState


async def probe_printer(settings: PrinterSettings) -> PrinterState:
    """Open the printer, ask its status once, close it.

    ``disabled`` without a printer; ``offline`` with the reason when it cannot be opened; for a
    file printer, whether its folder can be written (it has no status to ask).
    """
    try:
        conn = make_connection(settings)
    except PrinterError as err:
        return PrinterState(state="error", detail=str(err))
    if conn is None:
        return PrinterState(state="disabled", detail="no printer configured")
    if settings.kind == "file":  # a folder: no job file is written just to look
        return _folder_state(settings.path)
    try:
        await conn.open("doctor-probe")
    except PrinterUnavailable as err:
        return PrinterState(state="offline", detail=str(err))
    try:
        if not conn.answers_status:  # CUPS: the queue took a job; nothing sent, nothing printed
            return PrinterState(state="ok", detail=f"{conn.describe()} accepts jobs")
        return await query_status(conn, max(settings.status_timeout_s, 1.0))
    except PrinterUnavailable as err:
        return PrinterState(state="offline", detail=str(err))
    finally:
        await conn.close()


def _folder_state(folder: Path) -> PrinterState:
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK | os.X_OK):
        return PrinterState(state="error", detail=f"{existing} cannot be written")
    return PrinterState(state="ok", detail=f"receipts go to {folder}")
