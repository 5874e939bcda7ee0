"""Plan limits on both backends: a till stamp is never refused (applied, the overrun shown),
admin-made vouchers, batches and staff seats are refused past the plan with the reason, and
the month turns at midnight in the business's time zone."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync.cloud.backoffice import plans
from sync.cloud.store import Store
from tests.clock import Clock
from tests.sync.cloud.conftest import Cloud, event, order, start_cloud
from tests.sync.cloud.procs import ENV, cloud_init, write_config


async def _usage(cloud: Cloud) -> dict[str, object]:
    resp = await cloud.http.get("/v1/plan", headers=cloud.admin())
    assert resp.status == 200, await resp.text()
    out: dict[str, object] = await resp.json()
    return out


async def test_the_101st_till_stamp_is_applied_and_flagged(cloud: Cloud) -> None:
    """Given the free plan and 100 stamps this month, when the till sends the 101st, then it is
    applied and on the card, and the plan shows 101 used, 1 over; a voucher batch and a second
    staff seat are then refused with 402 plan_limit and a reason."""
    await cloud.store.set_plan(cloud.link["business_id"], plans.plan_named("free"))
    await cloud.set_program(rule="per_order", goal=500)
    card = await cloud.customer(email="regular@example.com")
    ref = {"card": card["card_code"]}
    results = await cloud.post_events(
        [event("order.stamped", order(f"T-{i}", 1, ref)) for i in range(100)]
    )
    assert {r["status"] for r in results} == {"applied"}
    assert (await _usage(cloud))["ops_used"] == 100
    [last] = await cloud.post_events([event("order.stamped", order("T-100", 1, ref))])
    assert last["status"] == "applied"
    assert (await cloud.card(card["card_code"]))["balance"] == 101
    usage = await _usage(cloud)
    assert (usage["plan"], usage["ops_limit"], usage["ops_used"], usage["over_by"]) == (
        "free", 100, 101, 1,
    )  # fmt: skip
    refused = await cloud.http.post("/v1/vouchers/batch", json={"count": 5}, headers=cloud.admin())
    assert refused.status == 402
    error = (await refused.json())["error"]
    assert error["code"] == "plan_limit" and "100 card operations a month" in error["message"]
    one = await cloud.http.post("/v1/vouchers", json={}, headers=cloud.admin())
    assert one.status == 402
    seat = await cloud.http.post(
        "/v1/devices", json={"branch_id": cloud.link["branch_id"], "label": "Till 2"},
        headers=cloud.admin(),
    )  # fmt: skip
    assert seat.status == 402 and "staff seat" in (await seat.json())["error"]["message"]


async def test_a_batch_over_the_limit_is_refused_and_one_that_fits_is_made(cloud: Cloud) -> None:
    """Given a paid plan of 50 operations, a batch of 40 is made, then a batch of 11 is refused
    (it would make 51) while one of 10 fits; claiming the codes costs nothing more."""
    await cloud.store.set_plan(cloud.link["business_id"], plans.plan_named("paid", 50, 5))
    ok = await cloud.http.post("/v1/vouchers/batch", json={"count": 40}, headers=cloud.admin())
    assert ok.status == 201
    too_many = await cloud.http.post(
        "/v1/vouchers/batch", json={"count": 11}, headers=cloud.admin()
    )
    assert too_many.status == 402
    assert "10 left" in (await too_many.json())["error"]["message"]
    code = (await ok.json())["codes"][0]["code"]
    assert (await cloud.http.post(f"/v1/inserts/{code}")).status == 201
    assert (await _usage(cloud))["ops_used"] == 40
    fits = await cloud.http.post("/v1/vouchers/batch", json={"count": 10}, headers=cloud.admin())
    assert fits.status == 201
    assert (await _usage(cloud))["over_by"] == 0


async def test_self_hosted_has_no_limit(cloud: Cloud) -> None:
    """Without a plan (self-hosted) nothing is limited: a batch of 1000 and more seats pass."""
    usage = await _usage(cloud)
    assert (usage["plan"], usage["ops_limit"], usage["seats_limit"]) == ("self-hosted", None, None)
    resp = await cloud.http.post("/v1/vouchers/batch", json={"count": 1000}, headers=cloud.admin())
    assert resp.status == 201
    assert (await _usage(cloud))["ops_used"] == 1000


async def test_the_month_turns_at_midnight_in_the_business_time_zone(store: Store) -> None:
    """Given a New York business on the free plan with 100 operations made at 22:00 on
    30 November local time (03:00 UTC on 1 December), a voucher is refused at 23:59 local and
    made at 00:00 local on 1 December (05:00 UTC)."""
    clock = Clock(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    http, link = await start_cloud(store, clock, timezone="America/New_York")
    try:
        await store.set_plan(link["business_id"], plans.plan_named("free"))
        admin = {"Authorization": f"Bearer {link['admin_key']}"}
        made = await http.post("/v1/vouchers/batch", json={"count": 100}, headers=admin)
        assert made.status == 201
        plan = await (await http.get("/v1/plan", headers=admin)).json()
        assert (plan["month"], plan["timezone"], plan["ops_used"]) == (
            "2026-11", "America/New_York", 100,
        )  # fmt: skip
        clock.now = datetime(2026, 12, 1, 4, 59, 59, tzinfo=UTC)
        late = await http.post("/v1/vouchers", json={}, headers=admin)
        assert late.status == 402
        clock.advance(seconds=1)
        fresh = await http.post("/v1/vouchers", json={}, headers=admin)
        assert fresh.status == 201, await fresh.text()
        plan = await (await http.get("/v1/plan", headers=admin)).json()
        assert (plan["month"], plan["ops_used"]) == ("2026-12", 1)
    finally:
        await http.close()


def test_month_window_across_daylight_saving() -> None:
    """March in Berlin starts at 23:00 UTC on 28 February and ends at 22:00 UTC on 31 March
    (the clocks go forward inside it)."""
    start, end, name = plans.month_window(datetime(2027, 3, 15, tzinfo=UTC), "Europe/Berlin")
    assert name == "2027-03"
    assert start == datetime(2027, 2, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(days=31, hours=-1)


def test_the_operator_sets_a_plan_from_the_command_line(tmp_path: Path) -> None:
    """Given a provisioned cloud, ``stampedge cloud plan`` puts the business on the free plan
    (its fixed limits) or a paid one (the limits given) and prints the use; a wrong call is one
    line on stderr and exit 2."""
    config, _ = write_config(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}")
    link = cloud_init(config)
    argv = [sys.executable, "-m", "agent.cli", "cloud", "plan", "--config", str(config),
            "--business-id", str(link["business_id"])]  # fmt: skip

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*argv, *extra], capture_output=True, text=True, env=ENV,
                              timeout=60, check=False)  # fmt: skip

    free = run("--plan", "free")
    assert free.returncode == 0, free.stderr
    out = json.loads(free.stdout)
    assert (out["plan"], out["ops_limit"], out["seats_limit"], out["seats_used"]) == (
        "free", 100, 1, 1,
    )  # fmt: skip
    paid = json.loads(run("--plan", "paid", "--ops", "5000", "--seats", "4").stdout)
    assert (paid["plan"], paid["ops_limit"], paid["seats_limit"]) == ("paid", 5000, 4)
    for bad in (("--plan", "free", "--ops", "5"), ()):
        wrong = run(*bad)
        assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    nobody = subprocess.run(
        [*argv[:-1], "999", "--plan", "free"], capture_output=True, text=True, env=ENV,
        timeout=60, check=False,
    )  # fmt: skip
    assert nobody.returncode == 2 and "no business 999" in nobody.stderr
