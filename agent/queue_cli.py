"""``stampedge queue status|list|retry|dead|flush``: the outbox seen from the shell."""

import argparse
import json
import sys
import time
from typing import Any, TextIO

from agent.db import open_agent_db
from config import AgentSettings
from sync.edge.client import CloudAuthError, CloudClient, CloudUnreachable
from sync.edge.outbox import Outbox
from sync.edge.uploader import Uploader

BAR_WIDTH = 30


class ProgressBar:
    """A plain-text progress bar: redrawn in place on a terminal, one line per 10 % otherwise."""

    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.out = out if out is not None else sys.stderr
        self.tty = self.out.isatty()
        self.started = time.monotonic()
        self._last_tenth = -1

    def line(self) -> str:
        """The bar as text, e.g. ``[#########.....]  600/1000 events  60%  1200 ev/s``."""
        frac = min(self.done / self.total, 1.0)
        filled = round(frac * BAR_WIDTH)
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total} events "
            f"{int(frac * 100):3d}%  {rate:.0f} ev/s"
        )

    def advance(self, n: int) -> None:
        """``n`` more events answered by the cloud."""
        self.done += n
        if self.tty:
            self.out.write("\r" + self.line())
        else:
            tenth = int(min(self.done / self.total, 1.0) * 10)
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self.out.write(self.line() + "\n")
        self.out.flush()

    def finish(self) -> None:
        """End the bar's line on a terminal."""
        if self.tty:
            self.out.write("\n")
            self.out.flush()


async def flush(settings: AgentSettings, box: Outbox, *, as_json: bool) -> int:
    """Send every queued event to the cloud now; 1 with a clear message if that fails."""
    link = settings.cloud
    key = link.device_key.get_secret_value()
    if not link.url or not key:
        print("stampedge: cloud.url and cloud.device_key are needed to flush", file=sys.stderr)
        return 2
    counts = await box.counts()
    bar = ProgressBar(counts.pending + counts.sent)
    client = CloudClient(link.url, key, timeout_s=link.timeout_s)
    uploader = Uploader(box, client, batch_size=link.batch_size)
    try:
        outcome = await uploader.drain(progress=None if as_json else bar.advance)
    except (CloudUnreachable, CloudAuthError) as err:
        bar.finish()
        left = (await box.counts()).pending
        print(
            f"stampedge: cannot flush to the cloud at {link.url}: {err}\n"
            f"stampedge: {left} event(s) are still queued and safe; the agent keeps retrying",
            file=sys.stderr,
        )
        return 1
    finally:
        await client.close()
    bar.finish()
    summary = {
        "applied": outcome.applied,
        "duplicate": outcome.duplicate,
        "dead": len(outcome.dead),
    }
    if as_json:
        print(json.dumps(summary))
    else:
        print(
            f"flushed: {outcome.applied} applied, {outcome.duplicate} already there, "
            f"{len(outcome.dead)} refused"
            + (" (see: stampedge queue dead)" if outcome.dead else "")
        )
    return 0


async def run_queue_command(settings: AgentSettings, args: argparse.Namespace) -> int:
    """Run one queue action; 0 on success."""
    path = settings.agent.database
    if not path.exists():
        print(f"stampedge: no agent database at {path}", file=sys.stderr)
        return 1
    db = await open_agent_db(path)
    box = Outbox(db)
    try:
        if args.action == "status":
            counts = await box.counts()
            if args.json:
                print(counts.model_dump_json())
            else:
                age = counts.oldest_pending_age_s
                print(
                    f"pending {counts.pending}  sent {counts.sent}  acked {counts.acked}  "
                    f"dead {counts.dead}  oldest pending "
                    + (f"{age:.0f} s" if age is not None else "-")
                )
            return 0
        if args.action in ("list", "dead"):
            state: Any = "dead" if args.action == "dead" else args.state
            rows = await box.rows(state, limit=args.limit)
            if args.json:
                print(json.dumps([r.model_dump() for r in rows], default=str))
            else:
                for r in rows:
                    err = f"  {r.last_error}" if r.last_error else ""
                    print(f"{r.event_id}  {r.state:7}  {r.type:18} {r.attempts} tries{err}")
            return 0
        if args.action == "retry":
            n = await box.retry_dead(args.ids or None)
            print(json.dumps({"requeued": n}) if args.json else f"{n} event(s) back in the queue")
            return 0
        if args.action == "flush":
            return await flush(settings, box, as_json=args.json)
        print(f"stampedge: unknown queue action {args.action}", file=sys.stderr)
        return 2
    finally:
        await db.close()
