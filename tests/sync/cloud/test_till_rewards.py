"""Rewards at the till, on both backends: what a batch's events caused, a till redeeming once,
offline redemptions from two tills (one redeemed, one double redemption), the POS line."""

from datetime import timedelta
from typing import Any

from tests.sync.cloud.conftest import START, Cloud, event, order

SANDWICH = {"sku": "GIFT-01", "name": "Free sandwich"}


async def _second_device(cloud: Cloud) -> dict[str, str]:
    resp = await cloud.http.post(
        "/v1/devices", json={"branch_id": cloud.link["branch_id"], "label": "till-2"},
        headers=cloud.admin(),
    )  # fmt: skip
    assert resp.status == 201, await resp.text()
    return cloud.device((await resp.json())["device_key"])


async def _redeem(cloud: Cloud, code: str, headers: dict[str, str] | None = None,
                  **body: Any) -> tuple[int, Any]:  # fmt: skip
    resp = await cloud.http.post(
        f"/v1/rewards/{code}/redeem", json=body, headers=headers or cloud.device()
    )
    return resp.status, await resp.json()


async def _reward(cloud: Cloud, card: str, order_id: str) -> Any:
    res = await cloud.post_events([event("order.stamped", order(order_id, 10, {"card": card}))])
    assert res[0]["status"] == "applied"
    return res[0]["effects"]["rewards"][0]


async def test_given_a_batch_then_each_applied_event_says_what_it_caused(cloud: Cloud) -> None:
    """Given goal 10 and a gift with a POS line, when checks of 4, 7 and 0 stamps and one with
    nobody arrive, then the answer tells stamps, balance, the gift (code, title, POS line) per
    event (none for the check without a card); sent again, they are told again."""
    await cloud.set_program(rule="per_order", goal=10, reward_name="Sandwich",
                            pos_product=SANDWICH)  # fmt: skip
    c = await cloud.customer("e@example.com")
    card = {"card": c["card_code"]}
    first = event("order.stamped", order("E-1", 4, card))
    res = await cloud.post_events([
        first,
        event("order.stamped", order("E-2", 7, card)),
        event("order.stamped", order("E-3", 0, card)),
        event("order.recorded", order("E-4", 1)),
    ])  # fmt: skip
    assert [r["status"] for r in res] == ["applied"] * 4
    one, two, zero, nobody = (r.get("effects") for r in res)
    assert one == {"card_code": c["card_code"], "stamps": 4, "balance": 4, "rewards": [],
                   "lottery": []}  # fmt: skip
    assert two is not None and (two["stamps"], two["balance"]) == (7, 1)
    [gift] = two["rewards"]
    assert gift["kind"] == "gift" and gift["title"] == "Sandwich"
    assert gift["pos_product"] == SANDWICH and gift["valid_until"] is None
    listed = (await cloud.card(c["card_code"]))["rewards"]
    assert [(r["code"], r["pos_product"]) for r in listed] == [(gift["code"], SANDWICH)]
    assert zero is not None and (zero["stamps"], zero["balance"]) == (0, 1)
    assert nobody is None
    # sent again (its answer lost): told again from the ledger, the balance as it is now
    again = await cloud.post_events([first])
    assert again[0]["status"] == "duplicate"
    assert again[0]["effects"] == {"card_code": c["card_code"], "stamps": 4, "balance": 1,
                                   "rewards": [], "lottery": [], "replay": True}  # fmt: skip
    second = await cloud.post_events([event("order.stamped", order("E-2", 7, card),
                                            eid=res[1]["id"])])  # fmt: skip
    assert second[0]["effects"]["rewards"] == [gift]
    assert "effects" not in (await cloud.post_events([event("order.recorded", order("E-4", 1),
                                                            eid=res[3]["id"])]))[0]  # fmt: skip


async def test_given_a_lottery_then_the_effects_give_each_draw(cloud: Cloud) -> None:
    await cloud.set_program(rule="per_order", goal=2, reward="lottery",
                            lottery_odds=[{"outcome": "nothing", "weight": 1}])  # fmt: skip
    c = await cloud.customer("l@example.com")
    res = await cloud.post_events(
        [event("order.stamped", order("L-1", 5, {"card": c["card_code"]}))]
    )
    fx = res[0]["effects"]
    assert fx["lottery"] == ["nothing", "nothing"] and fx["rewards"] == [] and fx["balance"] == 1


async def test_given_a_till_then_it_redeems_once_with_the_pos_line_and_clear_refusals(
    cloud: Cloud,
) -> None:
    await cloud.set_program(rule="per_order", goal=10, reward="voucher", voucher_valid_days=2,
                            activation_delay_hours=1, pos_product=SANDWICH)  # fmt: skip
    c = await cloud.customer("r@example.com")
    code = (await _reward(cloud, c["card_code"], "R-1"))["code"]
    status, early = await _redeem(cloud, code, order_id="R-2")
    assert status == 409 and early["error"]["code"] == "not_active"
    assert early["error"]["valid_from"] == (START + timedelta(hours=1)).isoformat()
    cloud.clock.advance(hours=1)
    status, ok = await _redeem(cloud, code.lower().replace("-", ""), order_id="R-2", till="t1")
    assert status == 200, ok
    assert (ok["code"], ok["state"], ok["pos_product"], ok["source"]) == (
        code, "redeemed", SANDWICH, "cloud")  # fmt: skip
    status, again = await _redeem(cloud, code)
    assert status == 409 and again["error"]["code"] == "already_redeemed"
    # the same till for the same check (its answer was lost): the same answer, counted once
    status, replay = await _redeem(cloud, code, order_id="R-2", till="t1")
    assert status == 200 and replay == ok
    other = await _second_device(cloud)
    status, theirs = await _redeem(cloud, code, other, order_id="R-2")
    assert status == 409 and theirs["error"]["code"] == "already_redeemed"
    stats = await (await cloud.http.get(
        "/v1/stats", headers=cloud.admin(),
        params={"branch": str(cloud.link["branch_id"]), "from": "2026-11-23", "to": "2026-11-23"},
    )).json()  # fmt: skip
    assert stats["total"]["rewards_redeemed"] == 1
    status, unknown = await _redeem(cloud, "2222-3333-4444")
    assert status == 404 and unknown["error"]["code"] == "unknown_reward"
    late = (await _reward(cloud, c["card_code"], "R-3"))["code"]
    cloud.clock.advance(days=3)
    status, gone = await _redeem(cloud, late)
    assert status == 410 and gone["error"]["code"] == "expired"
    status, _ = await _redeem(cloud, late, headers=cloud.admin())
    assert status == 403


async def test_given_two_tills_redeeming_one_code_offline_then_one_redeems_one_conflicts(
    cloud: Cloud,
) -> None:
    """Given a gift, when two tills each send a reward.redeemed event for it (both were offline)
    and the first till re-sends its own under a new id (its answer was lost), then the reward is
    redeemed once by the first, the second is one double redemption in /v1/stats, and the
    redemption is counted once."""
    c = await cloud.customer("o@example.com")
    code = (await _reward(cloud, c["card_code"], "O-1"))["code"]
    other = await _second_device(cloud)
    at = START.isoformat()
    mine = await cloud.post_events([event("reward.redeemed", {"code": code, "order_id": "O-2",
                                                              "redeemed_at": at})])  # fmt: skip
    theirs = await cloud.post_events(
        [event("reward.redeemed", {"code": code.lower(), "till": "t2", "redeemed_at": at})],
        key=other["Authorization"].removeprefix("Bearer "),
    )
    lost = await cloud.post_events([event("reward.redeemed", {"code": code, "redeemed_at": at})])
    unknown = await cloud.post_events(
        [event("reward.redeemed", {"code": "2222-3333-4444", "redeemed_at": at})]
    )
    assert [r["status"] for r in (*mine, *theirs, *lost)] == ["applied"] * 3
    assert unknown[0]["status"] == "rejected" and unknown[0]["reason"] == "unknown reward"
    [reward] = (await cloud.card(c["card_code"]))["rewards"]
    assert reward["state"] == "redeemed"
    stats = await (await cloud.http.get(
        "/v1/stats", headers=cloud.admin(),
        params={"branch": str(cloud.link["branch_id"]), "from": "2026-11-23", "to": "2026-11-23"},
    )).json()  # fmt: skip
    assert stats["redeem_conflicts"] == 1
    assert stats["total"]["rewards_redeemed"] == 1
    page = await (await cloud.http.get("/dashboard", headers=cloud.admin())).text()
    assert '<strong class="redeem-conflicts">1</strong>' in page
    status, online = await _redeem(cloud, code)
    assert status == 409 and online["error"]["code"] == "already_redeemed"


async def _state(cloud: Cloud, cursor: int) -> Any:
    resp = await cloud.http.get(
        "/v1/sync/state", params={"cursor": str(cursor)}, headers=cloud.device()
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_given_open_rewards_then_the_sync_state_carries_them_until_redeemed(
    cloud: Cloud,
) -> None:
    """Given a card with a gift, the tills' sync state lists it with its POS line; redeemed
    online or offline, the card comes again in the next page, without it."""
    await cloud.set_program(rule="per_order", goal=10, pos_product=SANDWICH)
    c = await cloud.customer("s@example.com")
    gift = await _reward(cloud, c["card_code"], "S-1")
    second = await _reward(cloud, c["card_code"], "S-2")
    state = await _state(cloud, 0)
    [card] = [x for x in state["cards"] if x["card_code"] == c["card_code"]]
    assert sorted((r["code"], r["pos_product"]["sku"]) for r in card["rewards"]) == sorted(
        [(gift["code"], "GIFT-01"), (second["code"], "GIFT-01")])  # fmt: skip
    assert (await _redeem(cloud, gift["code"]))[0] == 200
    after = await _state(cloud, state["cursor"])
    assert [[r["code"] for r in x["rewards"]] for x in after["cards"]] == [[second["code"]]]
    await cloud.post_events(
        [event("reward.redeemed", {"code": second["code"], "redeemed_at": START.isoformat()})]
    )
    last = await _state(cloud, after["cursor"])
    assert [x["rewards"] for x in last["cards"]] == [[]]


async def test_given_voids_of_reward_checks_then_stats_count_them(cloud: Cloud) -> None:
    """Given a check that reached the goal, a check a gift was redeemed on and a plain one, when
    all three are voided, then /v1/stats counts two voided reward checks (the rewards stay)."""
    c = await cloud.customer("v@example.com")
    card = {"card": c["card_code"]}
    code = (await _reward(cloud, c["card_code"], "V-1"))["code"]
    assert (await _redeem(cloud, code, order_id="V-2"))[0] == 200
    res = await cloud.post_events([
        event("order.stamped", order("V-2", 1, card)),
        event("order.stamped", order("V-3", 1, card)),
        *(event("order.voided", {"order_id": f"V-{i}"}) for i in (1, 2, 3)),
    ])  # fmt: skip
    assert [r["status"] for r in res] == ["applied"] * 5
    stats = await (await cloud.http.get(
        "/v1/stats", headers=cloud.admin(),
        params={"branch": str(cloud.link["branch_id"]), "from": "2026-11-23", "to": "2026-11-23"},
    )).json()  # fmt: skip
    assert (stats["voided_reward_checks"], stats["total"]["voids"]) == (2, 3)
    page = await (await cloud.http.get("/dashboard", headers=cloud.admin())).text()
    assert '<strong class="voided-reward-checks">2</strong>' in page
