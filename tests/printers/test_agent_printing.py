"""End to end through the real agent app: a POS order prints a receipt on a fake printer whose
QR payload is the answer's claim URL; every printer failure leaves the order safe, the job failed
with the right reason, and a retry that prints."""

import asyncio
from typing import Any

import pytest

from tests.fakes.escpos_printer import PtyFakePrinter, TcpFakePrinter
from tests.printers.conftest import AgentFactory, place, printer_section, wait_job


async def test_given_network_printer_when_pos_posts_order_then_receipt_qr_is_claim_url(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "A-1")
    assert answer["print"]["status"] == "queued"
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "confirmed", job
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [answer["claim"]["url"]]
    assert receipt.commands[0].name == "ESC @"
    assert receipt.code_page == 19  # CP858 (with the euro sign) on a TM-T20II
    assert "Scan for your stamps" in receipt.text
    assert "Order A-1" in receipt.text
    assert receipt.commands[-1].name == "CUT"
    # DLE EOT 1, 2, 4 before and after the job
    assert printer.status_queries == [1, 2, 4, 1, 2, 4]
    assert job["order_id"] == "A-1" and job["printed_at"] is not None


async def test_given_serial_printer_on_pty_when_order_then_receipt_printed(
    make_agent: AgentFactory, pty_printer: PtyFakePrinter
) -> None:
    client = await make_agent(
        printer={
            "kind": "serial",
            "device": pty_printer.device,
            "baudrate": 38400,
            "flow_control": "xonxoff",
            "status_poll_s": 0,
            "profile": "TM-T20II",
        }
    )
    answer = await place(client, "S-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "confirmed", job
    [receipt] = await pty_printer.wait_receipts(1)
    assert receipt.qr_payloads == [answer["claim"]["url"]]


async def test_given_many_orders_at_once_then_jobs_never_interleave(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    answers = await asyncio.gather(*(place(client, f"L-{i}") for i in range(8)))
    receipts = await printer.wait_receipts(8)
    assert printer.max_open_connections == 1
    assert sorted(r.qr_payloads[0] for r in receipts) == sorted(a["claim"]["url"] for a in answers)
    for a in answers:
        assert (await wait_job(client, a["print"]["job_id"]))["status"] == "confirmed"


FAILURES = [
    ("paper_out", "paper_out"),
    ("cover_open", "cover_open"),
    ("offline", "offline"),
    ("error", "error"),
    ("no_answer", "no_answer"),
    ("disconnect_mid_job", "disconnected"),
]


@pytest.mark.parametrize(("mode", "reason"), FAILURES)
async def test_given_printer_failure_then_order_safe_job_failed_with_reason_and_retry_prints(
    make_agent: AgentFactory, printer: TcpFakePrinter, mode: Any, reason: str
) -> None:
    client = await make_agent(printer=printer_section(printer, status_timeout_s=0.3))
    printer.mode = mode
    answer = await place(client, "F-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "failed" and job["reason"] == reason, job
    assert job["detail"]
    # the order is recorded whatever the printer did
    again = await client.post("/v1/orders", json={"order_id": "F-1", "total": "25.00"})
    assert again.status == 200
    assert (await again.json())["claim"] == answer["claim"]
    if mode != "disconnect_mid_job":
        assert printer.complete == []  # nothing printed into a broken printer
    health = await (await client.get("/health")).json()
    if mode in ("paper_out", "cover_open", "offline", "error"):
        assert health["printer"]["state"] == mode
        assert health["status"] == "degraded"
    elif mode == "no_answer":
        assert health["printer"]["state"] == "unknown"
    metrics = await (await client.get("/metrics")).text()
    assert f'stampedge_print_jobs_total{{reason="{reason}",status="failed"}} 1.0' in metrics

    printer.mode = "ok"
    resp = await client.post(f"/v1/print/{job['job_id']}/retry")
    assert resp.status == 202, await resp.text()
    assert (await resp.json())["status"] == "queued"
    job = await wait_job(client, job["job_id"])
    assert job["status"] == "confirmed" and job["attempts"] == 2
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [answer["claim"]["url"]]
    health = await (await client.get("/health")).json()
    assert health["printer"]["state"] == "ok"


async def test_given_printer_unreachable_then_job_failed_unreachable_and_retry_prints(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    address = printer.address
    await printer.stop()
    client = await make_agent(printer=printer_section(printer, address=address))
    answer = await place(client, "U-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert (job["status"], job["reason"]) == ("failed", "unreachable")
    health = await (await client.get("/health")).json()
    assert health["printer"]["state"] == "offline"
    back = await TcpFakePrinter().start()
    try:
        # the new fake is on another port: point a second agent (a restart) at it
        client2 = await make_agent(printer=printer_section(back))
        resp = await client2.post(f"/v1/print/{job['job_id']}/retry")
        assert resp.status == 202
        assert (await wait_job(client2, job["job_id"]))["status"] == "confirmed"
        [receipt] = await back.wait_receipts(1)
        assert receipt.qr_payloads == [answer["claim"]["url"]]
    finally:
        await back.stop()


async def test_given_silent_printer_and_require_status_off_then_sent_but_never_confirmed(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer, require_status=False))
    printer.mode = "no_answer"
    answer = await place(client, "N-1")
    job = await wait_job(client, answer["print"]["job_id"], until=("sent",), with_reason=True)
    assert (job["status"], job["reason"]) == ("sent", "no_answer")
    await printer.wait_receipts(1)


async def test_retry_of_a_confirmed_job_is_409_and_unknown_job_is_404(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "R-1")
    job = await wait_job(client, answer["print"]["job_id"])
    resp = await client.post(f"/v1/print/{job['job_id']}/retry")
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "not_retryable"
    resp = await client.get("/v1/print/nope")
    assert resp.status == 404
    assert (await resp.json())["error"] == {
        "code": "unknown_job",
        "message": "no print job nope",
        "field": "job_id",
    }


async def test_reprint_by_order_prints_the_same_qr_again(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "P-1")
    await wait_job(client, answer["print"]["job_id"])
    resp = await client.post("/v1/orders/P-1/reprint")
    assert resp.status == 202
    job = await resp.json()
    assert job["kind"] == "reprint" and job["job_id"] != answer["print"]["job_id"]
    assert (await wait_job(client, job["job_id"]))["status"] == "confirmed"
    first, second = await printer.wait_receipts(2)
    assert first.qr_payloads == second.qr_payloads == [answer["claim"]["url"]]
    assert (await client.post("/v1/orders/nope/reprint")).status == 404
    await client.post("/v1/orders/P-1/void", json={})
    resp = await client.post("/v1/orders/P-1/reprint")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "voided"


async def test_test_print_shows_agent_address_model_and_qr_mode(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    resp = await client.post("/v1/print/test")
    assert resp.status == 202
    job = await resp.json()
    assert job["kind"] == "test"
    assert (await wait_job(client, job["job_id"]))["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert "Stampedge printer test" in receipt.text
    assert "Agent: http://127.0.0.1:8787/" in receipt.text
    assert "Model: TM-T20II" in receipt.text
    assert "QR mode: native" in receipt.text
    assert receipt.qr_payloads == ["HTTP://127.0.0.1:8787/"]


async def test_print_false_means_no_job_and_no_printer_means_no_print(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    resp = await client.post("/v1/orders", json={"order_id": "X", "total": "20", "print": False})
    assert (await resp.json())["print"] is None
    plain = await make_agent()
    resp = await plain.post("/v1/orders", json={"order_id": "Y", "total": "20"})
    body = await resp.json()
    assert body["print"] is None and body["claim"] is not None
    resp = await plain.post("/v1/print/test")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "no_printer"
    assert (await plain.get("/v1/print/nope")).status == 404
    assert (await (await plain.get("/health")).json())["printer"]["state"] == "disabled"


async def test_openapi_documents_the_print_routes(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer))
    doc = await (await client.get("/openapi.json")).json()
    for path in (
        "/v1/print/{job_id}",
        "/v1/print/{job_id}/retry",
        "/v1/orders/{order_id}/reprint",
        "/v1/print/test",
        "/v1/orders/{order_id}/qr.png",
        "/v1/orders/{order_id}/qr.svg",
        "/v1/orders/{order_id}/qr.escpos",
    ):
        assert path in doc["paths"], path


async def test_given_unusable_printer_settings_then_orders_work_and_health_says_why(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer, profile="NoSuchModel"))
    answer = await place(client, "C-1")
    assert answer["print"] is None and answer["claim"] is not None
    health = await (await client.get("/health")).json()
    assert health["printer"]["state"] == "error"
    assert "NoSuchModel" in health["printer"]["detail"]
    resp = await client.post("/v1/print/test")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "printer_config"
    resp = await client.get("/v1/orders/C-1/qr.escpos")
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "printer_config"
    assert "NoSuchModel" in error["message"] and error["field"] == "printer.profile"


async def test_given_idle_printer_then_status_poll_keeps_health_current(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    client = await make_agent(printer=printer_section(printer, status_poll_s=0.05))

    async def state_becomes(want: str) -> dict[str, Any]:
        async with asyncio.timeout(15):
            while True:
                health: dict[str, Any] = await (await client.get("/health")).json()
                if health["printer"]["state"] == want:
                    return health
                await asyncio.sleep(0.02)

    await state_becomes("ok")
    printer.mode = "cover_open"
    health = await state_becomes("cover_open")
    assert health["status"] == "degraded" and "cover" in health["printer"]["detail"]
    printer.mode = "no_answer"
    await state_becomes("unknown")  # silence is never "ok"
    assert printer.complete == []  # polling prints nothing


async def test_given_printer_sends_automatic_status_back_then_it_is_not_taken_for_an_answer(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    printer.greeting = b"\x14\x00\x00\x0f"  # an Epson ASB block, unasked, on every connect
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "ASB-1")
    assert (await wait_job(client, answer["print"]["job_id"]))["status"] == "confirmed"
    printer.mode = "paper_out"
    answer = await place(client, "ASB-2")
    job = await wait_job(client, answer["print"]["job_id"])
    assert (job["status"], job["reason"]) == ("failed", "paper_out")


async def test_channel_reports_a_jobs_current_status_for_repeated_orders(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    from agent.http.models import PrintInfo
    from agent.printing.channel import PRINTING

    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "CUR-1")
    await wait_job(client, answer["print"]["job_id"])
    channel = client.app[PRINTING].channel
    assert channel is not None
    now = await channel.current(PrintInfo(job_id=answer["print"]["job_id"], status="queued"))
    assert now.status == "confirmed"


async def test_given_printer_drops_the_first_connections_then_the_job_still_prints_once(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    printer.refuse_connections = 2  # two hiccups, then the printer answers
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "HIC-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "confirmed" and job["attempts"] == 1
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [answer["claim"]["url"]]


async def test_given_printer_keeps_dropping_then_job_fails_disconnected(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    printer.refuse_connections = 3
    client = await make_agent(printer=printer_section(printer))
    answer = await place(client, "HIC-2")
    job = await wait_job(client, answer["print"]["job_id"])
    assert (job["status"], job["reason"]) == ("failed", "disconnected")
    assert printer.connections == 3 and printer.complete == []


async def test_given_star_tsp143_then_receipt_is_star_raster_that_scans_and_job_ends_sent(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    import zxingcpp

    client = await make_agent(printer=printer_section(printer, profile="TSP143"))
    answer = await place(client, "STAR-1")
    job = await wait_job(client, answer["print"]["job_id"], until=("sent",), with_reason=True)
    assert (job["status"], job["reason"]) == ("sent", "no_status")  # never "confirmed" unasked
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == [] and printer.status_queries == []
    image = receipt.star_image()
    assert image is not None
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [answer["claim"]["url"]]
    health = await (await client.get("/health")).json()
    assert health["printer"]["state"] == "unknown"


async def test_given_printer_without_native_qr_then_the_printed_page_scans_as_the_claim_url(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    """Given a POS-5890 (no GS ( k), when the POS posts an order, then the receipt carries a
    GS v 0 QR without white bytes, and the paper the printer lays out scans as claim.url."""
    import zxingcpp

    client = await make_agent(printer=printer_section(printer, profile="POS-5890"))
    answer = await place(client, "RAS-1")
    job = await wait_job(client, answer["print"]["job_id"])
    assert job["status"] == "confirmed", job
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == []
    [image] = receipt.raster_images()
    corners = [(0, 0), (image.height - 1, 0), (0, image.height - 1)]  # width padded to bytes
    assert [image.getpixel(c) for c in corners] == [0, 0, 0]  # finder patterns at the very edge
    page = receipt.page(384)  # 58 mm paper
    assert [r.text for r in zxingcpp.read_barcodes(page.image)] == [answer["claim"]["url"]]
