"""``stampedge queue status|list|retry|dead|flush``: the outbox seen from the shell."""

import argparse
import json
import sys
from typing import Any

from agent.order_store import SCHEMA as AGENT_SCHEMA
from config import AgentSettings
from sync.outbox import Outbox


async def run_queue_command(settings: AgentSettings, args: argparse.Namespace) -> int:
    """Run one queue action; 0 on success."""
    path = settings.agent.data_dir / "agent.db"
    if not path.exists():
        print(f"stampedge: no agent database at {path}", file=sys.stderr)
        return 1
    box = await Outbox.open(path, extra_schema=AGENT_SCHEMA)
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
        print(f"stampedge: unknown queue action {args.action}", file=sys.stderr)
        return 2
    finally:
        await box.close()
