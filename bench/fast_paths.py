"""Each hand-written fast path against the pydantic road it stands beside, in the same run.

Run by hand: ``python bench/fast_paths.py [--rounds 7] [--n 20000]``. For every fast path the
code keeps, it times the fast road and the model road over the same input (CPU per item, the best
of ``--rounds`` rounds, each round both roads in turn, so a noisy neighbour hits both alike) and
prints a Markdown table with the ratio. A fast path earns its place when the ratio is well
above 1 on its own hot path; the table goes into ``bench/README.md`` and the figure into the
module's docstring.

- agent, the stored answer of a check: ``orjson`` (``agent.orders.service._answer_json``) vs the
  standard encoder it must equal;
- agent, the hashed event payload: ``canonical_json_plain`` (orjson) vs ``canonical_json``;
- cloud, a 500-event batch body: ``sync.cloud.intake.read_batch`` vs ``EventBatch`` plus
  ``ledger.incoming`` (per event).

On 2026-12-07 it also timed the agent's hand-written body reader (2.3 µs against pydantic's 4.6)
and answer builder (5.7 µs against the models' 10.4): 1-2% of the 255-268 µs of CPU a durable
check costs, below the noise, so both were removed.
"""

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from agent.http.models import OrderAnswer
from agent.orders.service import _SLOW_ANSWER_JSON, _answer_json
from bench._common import table
from sync.cloud import intake, ledger
from sync.contract.events import EventBatch, OrderPayload, canonical_json, canonical_json_plain


def _cpu_per_item(fn: Callable[[], Any], items: int) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) / items * 1e6


def _pair(
    fast: Callable[[], Any], slow: Callable[[], Any], items: int, rounds: int
) -> tuple[float, float]:
    best_fast, best_slow = float("inf"), float("inf")
    for _ in range(rounds):
        best_fast = min(best_fast, _cpu_per_item(fast, items))
        best_slow = min(best_slow, _cpu_per_item(slow, items))
    return best_fast, best_slow


def _check_json() -> tuple[dict[str, Any], dict[str, Any]]:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    exp = now + timedelta(days=30)
    url = "HTTP://127.0.0.1:8788/C/AEAAAAAHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    common: dict[str, Any] = {
        "order_id": "A-1",
        "currency": "EUR",
        "till": "till-1",
        "stamps": 2,
        "rule": "by_amount",
        "customer": None,
    }
    answer = OrderAnswer.model_validate(
        {**common, "total": "23.50", "claim": {"url": url, "expires_at": exp}, "recorded_at": now}
    ).model_dump(mode="json")
    payload = OrderPayload.model_validate(
        {**common, "total": Decimal("23.50"), "order_ref": "r" * 20, "claim_expires_at": exp}
    ).model_dump(mode="json", exclude_none=True)
    return answer, payload


def bench_answer(n: int, rounds: int) -> tuple[float, float]:
    answer, _ = _check_json()

    def fast() -> None:
        for _ in range(n):
            _answer_json(answer)

    def slow() -> None:
        for _ in range(n):
            _SLOW_ANSWER_JSON(answer)

    return _pair(fast, slow, n, rounds)


def bench_payload(n: int, rounds: int) -> tuple[float, float]:
    _, payload = _check_json()

    def fast() -> None:
        for _ in range(n):
            canonical_json_plain(payload)

    def slow() -> None:
        for _ in range(n):
            canonical_json(payload)

    return _pair(fast, slow, n, rounds)


def bench_batch(batches: int, rounds: int) -> tuple[float, float]:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC).isoformat()
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "order.stamped",
            "device_time": now,
            "payload": {
                "order_id": f"A-{i}",
                "total": "23.50",
                "currency": "EUR",
                "stamps": 2,
                "rule": "by_amount",
                "till": "till-1",
                "customer": {"card": "SC0000000000001"},
            },
        }
        for i in range(500)
    ]
    raw = orjson.dumps({"events": events})
    assert intake.read_batch(raw) is not None, "the fast road must take this batch"

    def fast() -> None:
        for _ in range(batches):
            intake.read_batch(raw)

    def slow() -> None:
        for _ in range(batches):
            ledger.incoming(EventBatch.model_validate_json(raw).events)

    return _pair(fast, slow, batches * 500, rounds)


def main() -> None:
    """Run every pair and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="items per round (bodies, answers)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for name, (fast, slow) in (
        ("agent: stored answer (orjson)", bench_answer(args.n, args.rounds)),
        ("agent: hashed payload (canonical_json_plain)", bench_payload(args.n, args.rounds)),
        ("cloud: 500-event batch, per event", bench_batch(max(4, args.n // 2000), args.rounds)),
    ):
        rows.append([name, f"{fast:.1f}", f"{slow:.1f}", f"{slow / fast:.1f}x"])
    print(table(["fast path", "fast µs/item", "plain road µs/item", "plain / fast"], rows))


if __name__ == "__main__":
    main()
