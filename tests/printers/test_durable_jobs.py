"""Print jobs live in the agent's database: a restart resumes queued jobs, fails the one cut off
mid-send (never printing it twice on its own), and a job past its time-to-live goes stale."""

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.clock import Clock
from tests.fakes.escpos_printer import TcpFakePrinter
from tests.printers.conftest import AgentFactory, place, printer_section, wait_job


async def _stuck_agent(
    make_agent: AgentFactory, printer: TcpFakePrinter, clock: Clock
) -> tuple[TestClient[Any, Any], dict[str, Any], dict[str, Any]]:
    """An agent whose printer stays silent for long: job 1 hangs in ``sending``, job 2 queued."""
    printer.mode = "no_answer"
    client = await make_agent(clock, printer=printer_section(printer, status_timeout_s=30))
    first = await place(client, "D-1")
    await wait_job(client, first["print"]["job_id"], until=("sending",))
    second = await place(client, "D-2")
    job2 = await (await client.get(f"/v1/print/{second['print']['job_id']}")).json()
    assert job2["status"] == "queued"
    await client.close()  # the agent stops (or is restarted) mid-job
    return client, first, second


async def test_given_restart_then_queued_job_prints_and_cut_off_job_fails_interrupted(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    clock = Clock()
    _, first, second = await _stuck_agent(make_agent, printer, clock)
    printer.mode = "ok"
    client = await make_agent(clock, printer=printer_section(printer))
    job1 = await wait_job(client, first["print"]["job_id"])
    assert (job1["status"], job1["reason"]) == ("failed", "interrupted")
    job2 = await wait_job(client, second["print"]["job_id"])
    assert job2["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [second["claim"]["url"]]  # not job 1: no surprise double
    # a person may still print job 1 on purpose
    assert (await client.post(f"/v1/print/{job1['job_id']}/retry")).status == 202
    assert (await wait_job(client, job1["job_id"]))["status"] == "confirmed"
    assert len(await printer.wait_receipts(2)) == 2


async def test_given_job_older_than_ttl_then_stale_not_printed_and_retry_prints(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    clock = Clock()
    _, _, second = await _stuck_agent(make_agent, printer, clock)
    printer.mode = "ok"
    clock.now += timedelta(hours=1, seconds=1)  # the agent was down over an hour
    client = await make_agent(clock, printer=printer_section(printer))
    job = await wait_job(client, second["print"]["job_id"], until=("stale", "confirmed"))
    assert (job["status"], job["reason"]) == ("stale", "ttl")
    assert printer.complete == []  # no surprise receipt an hour late
    resp = await client.post(f"/v1/print/{job['job_id']}/retry")
    assert resp.status == 202
    assert (await wait_job(client, job["job_id"]))["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [second["claim"]["url"]]


async def test_status_page_lists_print_jobs_with_retry(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    printer.mode = "paper_out"
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "SP-1")
    await wait_job(client, answer["print"]["job_id"])
    page = await (await client.get("/")).text()
    assert answer["print"]["job_id"][:12] in page
    assert "/retry" in page and "/v1/print/test" in page


async def test_a_job_that_cannot_be_built_fails_and_the_worker_goes_on(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from agent.printing.channel import PRINTING
    from printers.receipt import Receipt

    client = await make_agent(printer=printer_section(printer))
    channel = client.app[PRINTING].channel
    assert channel is not None
    too_long = Receipt(
        order_id="BIG",
        claim_url="HTTP://X/" + "A" * 5000,  # more than a QR symbol holds
        stamps=1,
        total=Decimal(1),
        currency="EUR",
        issued_at=datetime.now(UTC),
    )
    job = await channel.service.enqueue(too_long, "reprint")
    failed = await wait_job(client, job.job_id)
    assert (failed["status"], failed["reason"]) == ("failed", "build_error")
    answer = await place(client, "AFTER")
    assert (await wait_job(client, answer["print"]["job_id"]))["status"] == "confirmed"


async def test_a_broken_job_row_is_failed_internal_and_the_worker_goes_on(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    from agent.http.state import OUTBOX

    client = await make_agent(printer=printer_section(printer))
    await client.app[OUTBOX].write(
        [
            (
                "INSERT INTO print_jobs (job_id, kind, status, receipt, created_at, updated_at, "
                "deadline) VALUES ('broken', 'test', 'queued', '{}', 0, 0, 4e9)",
                (),
            )
        ]
    )
    answer = await place(client, "AFTER-BROKEN")
    assert (await wait_job(client, answer["print"]["job_id"]))["status"] == "confirmed"
    broken = await wait_job(client, "broken")
    assert (broken["status"], broken["reason"]) == ("failed", "internal")


async def test_finished_jobs_older_than_a_month_are_forgotten_at_start(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    clock = Clock()
    client = await make_agent(clock, printer=printer_section(printer))
    answer = await place(client, "OLD-1")
    job_id = answer["print"]["job_id"]
    await wait_job(client, job_id)
    await client.close()
    clock.now += timedelta(days=31)
    client = await make_agent(clock, printer=printer_section(printer))
    assert (await client.get(f"/v1/print/{job_id}")).status == 404
