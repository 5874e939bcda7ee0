"""Poster's account webhooks at the cloud (SQLite and PostgreSQL): signed as Poster documents,
refused when forged, idempotent when repeated, and a check also sent by the agent counted once.

The payloads are the shapes in ``joinposter/docs``: ``en/web/webhooks.md`` (the webhook and its
md5 ``verify``), ``en/web/dash/getTransaction.md`` and ``en/web/clients/getClient.md`` (what a
stand-in for Poster's web API, on a real port, answers).
"""

import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.sync.cloud.conftest import Cloud, event, order

SECRET = "fe2bc8e865d8fc2236968ee53c3b2bd5"  # an application secret (the docs' example's form)
ACCOUNT = "api-demo"
TOKEN = "687409:4164553abf6a031302898da7800b59fb"
DATE_START = "1518873040083"  # the check's opening time, ms: its POS order id


@dataclass
class PosterApi:
    """A stand-in for Poster's web API: the documented answers, and the calls it got."""

    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    down: bool = False
    url: str = ""

    async def get_transaction(self, request: web.Request) -> web.Response:
        self.calls["dash.getTransaction"] += 1
        if self.down:
            return web.Response(status=502)
        assert request.query["token"] == TOKEN
        found = self.transactions.get(request.query["transaction_id"])
        return web.json_response({"response": [found] if found else []})

    async def get_client(self, request: web.Request) -> web.Response:
        self.calls["clients.getClient"] += 1
        assert request.query["token"] == TOKEN
        found = self.clients.get(request.query["client_id"])
        return web.json_response({"response": [found] if found else []})


@pytest.fixture
async def poster() -> AsyncIterator[PosterApi]:
    api = PosterApi()
    app = web.Application()
    app.router.add_get("/api/dash.getTransaction", api.get_transaction)
    app.router.add_get("/api/clients.getClient", api.get_client)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    api.url = str(server.make_url("/api"))
    try:
        yield api
    finally:
        await server.close()


def closed_check(transaction_id: str, client_id: str, payed_sum: str = "2750") -> dict[str, Any]:
    """``dash.getTransaction``'s answer for a closed check (its documented example's fields)."""
    return {
        "transaction_id": transaction_id, "date_start": DATE_START,
        "date_start_new": "1518873041556", "date_close": "1518873046314", "status": "2",
        "guests_count": "2", "discount": "0", "bonus": "0", "pay_type": "3", "payed_bonus": "0",
        "payed_card": "0", "payed_cash": payed_sum, "payed_sum": payed_sum, "payed_cert": "0",
        "payed_third_party": "0", "round_sum": "0", "tip_sum": "0", "sum": payed_sum,
        "spot_id": "1", "table_id": "94", "name": "Anna", "user_id": "1", "client_id": client_id,
        "card_number": "0", "transaction_comment": None, "reason": "", "print_fiscal": "0",
        "table_name": "5", "client_firstname": None, "client_lastname": None,
    }  # fmt: skip


def client(client_id: str, card_number: str = "", email: str = "") -> dict[str, Any]:
    """``clients.getClient``'s answer (the fields this channel reads, and some it does not)."""
    return {
        "client_id": client_id, "firstname": "Olena", "lastname": "Popova", "phone": "",
        "phone_number": "", "email": email, "card_number": card_number, "bonus": "0",
        "total_payed_sum": "417000", "client_groups_id": "7", "ewallet": "0",
    }  # fmt: skip


def webhook(object_id: int, *, action: str = "added", obj: str = "transaction",
            data: str | None = None, time: str = "1518794257", secret: str = SECRET,
            account: str = ACCOUNT) -> dict[str, Any]:  # fmt: skip
    """A webhook as Poster posts it, signed the way ``en/web/webhooks.md`` shows."""
    body: dict[str, Any] = {"account": account, "account_number": "203941", "object": obj,
                            "object_id": object_id, "action": action, "time": time}  # fmt: skip
    parts = [account, obj, str(object_id), action, *([data] if data is not None else []), time]
    if data is not None:
        body["data"] = data
    body["verify"] = hashlib.md5(";".join([*parts, secret]).encode()).hexdigest()
    return body


async def link(cloud: Cloud, poster: PosterApi, **extra: Any) -> Any:
    body = {"account": ACCOUNT, "secret": SECRET, "api_token": TOKEN, "api_url": poster.url,
            **extra}  # fmt: skip
    resp = await cloud.http.put("/v1/integrations/poster", json=body, headers=cloud.admin())
    assert resp.status == 200, await resp.text()
    return await resp.json()


def hook_path(cloud: Cloud) -> str:
    return f"/integrations/poster/{cloud.link['business_id']}/webhook"


async def send(cloud: Cloud, body: dict[str, Any]) -> tuple[int, Any]:
    resp = await cloud.http.post(hook_path(cloud), json=body)
    return resp.status, await resp.json()


async def test_given_a_closed_check_of_a_linked_client_then_its_card_gets_the_rule_s_stamps(
    cloud: Cloud, poster: PosterApi
) -> None:
    """Given a by-amount program (1 per 10) and a Poster client whose card number is the card's
    six-digit number, when Poster says check 330660 (EUR 27.50, in cents) was closed, then the
    card has 2 stamps and the answer is Poster's ``accept``."""
    await cloud.set_program(rule="by_amount", step="10", goal=10)
    ann = await cloud.customer("ann@example.com")
    poster.transactions["330660"] = closed_check("330660", "38")
    poster.clients["38"] = client("38", card_number=ann["number"])
    shown = await link(cloud, poster)
    assert shown["webhook_path"] == hook_path(cloud) and shown["token_set"] is True
    assert "secret" not in shown and "api_token" not in shown

    status, answer = await send(cloud, webhook(330660))
    assert status == 200, answer
    assert answer["status"] == "accept" and answer["outcome"] == "stamped"
    assert answer["order_id"] == f"poster-{DATE_START}"
    assert (await cloud.card(ann["card_code"]))["balance"] == 2


async def test_given_a_client_named_by_email_or_card_code_then_that_card_is_credited(
    cloud: Cloud, poster: PosterApi
) -> None:
    bob = await cloud.customer("bob@example.com")
    cy = await cloud.customer("cy@example.com")
    poster.transactions["1"] = {**closed_check("1", "5"), "date_start": "1000"}
    poster.transactions["2"] = {**closed_check("2", "6"), "date_start": "2000"}
    poster.clients["5"] = client("5", card_number="0000000000222", email="BOB@example.com")
    poster.clients["6"] = client("6", card_number=cy["card_code"].lower())
    await link(cloud, poster)
    assert (await send(cloud, webhook(1)))[1]["outcome"] == "stamped"
    assert (await send(cloud, webhook(2)))[1]["outcome"] == "stamped"
    assert (await cloud.card(bob["card_code"]))["balance"] == 1
    assert (await cloud.card(cy["card_code"]))["balance"] == 1


async def test_given_a_wrong_or_missing_signature_then_the_webhook_is_refused_and_nothing_moves(
    cloud: Cloud, poster: PosterApi
) -> None:
    ann = await cloud.customer("ann@example.com")
    poster.transactions["7"] = closed_check("7", "38")
    poster.clients["38"] = client("38", card_number=ann["number"])
    await link(cloud, poster)
    wrong_secret = webhook(7, secret="not-the-secret")
    tampered = {**webhook(7), "object_id": 8}
    missing = {k: v for k, v in webhook(7).items() if k != "verify"}
    other_account = webhook(7, account="someone-else")  # signed by Poster, for another shop
    for body, code in ((wrong_secret, "bad_signature"), (tampered, "bad_signature"),
                       (missing, "bad_signature"), (other_account, "wrong_account")):  # fmt: skip
        status, answer = await send(cloud, body)
        assert status == 403, answer
        assert answer["error"]["code"] == code
    assert poster.calls == Counter()
    assert (await cloud.card(ann["card_code"]))["balance"] == 0
    # the signature covers data when it is sent
    closed = '{"transactions_history":{"type_history":"close"}}'
    with_data = webhook(7, action="changed", data=closed)
    assert (await send(cloud, {**with_data, "data": "{}"}))[0] == 403
    form = await cloud.http.post(hook_path(cloud), data={k: str(v) for k, v in with_data.items()})
    assert form.status == 200 and (await form.json())["outcome"] == "stamped"  # form-encoded


async def test_given_the_same_webhook_three_times_then_the_card_is_credited_once(
    cloud: Cloud, poster: PosterApi
) -> None:
    ann = await cloud.customer("ann@example.com")
    poster.transactions["9"] = closed_check("9", "38")
    poster.clients["38"] = client("38", card_number=ann["number"])
    await link(cloud, poster)
    answers = [await send(cloud, webhook(9)) for _ in range(3)]
    assert [s for s, _ in answers] == [200, 200, 200]
    assert [a["outcome"] for _, a in answers] == ["stamped"] * 3
    assert [a["replay"] for _, a in answers] == [False, True, True]
    assert poster.calls["dash.getTransaction"] == 1
    assert (await cloud.card(ann["card_code"]))["balance"] == 1
    metrics = await (await cloud.http.get("/metrics")).text()
    assert 'stampedge_cloud_poster_webhooks_total{outcome="stamped"} 1.0' in metrics
    # Poster sends a later change of the same check with its own time: counted once still
    status, later = await send(cloud, webhook(9, action="changed", time="1518794300"))
    assert status == 200 and later["outcome"] == "already_counted"
    assert (await cloud.card(ann["card_code"]))["balance"] == 1


async def test_given_the_agent_sent_the_check_then_the_webhook_counts_it_once(
    cloud: Cloud, poster: PosterApi
) -> None:
    """The Poster app sent check ``poster-<order.id>`` through the agent (an ``order.stamped``
    event from the branch's device); Poster's webhook for the same check adds nothing."""
    ann = await cloud.customer("ann@example.com")
    order_id = f"poster-{DATE_START}"
    results = await cloud.post_events(
        [event("order.stamped", order(order_id, 1, customer={"card": ann["card_code"]}))]
    )
    assert results[0]["status"] == "applied"
    poster.transactions["330660"] = closed_check("330660", "38")
    poster.clients["38"] = client("38", card_number=ann["number"])
    await link(cloud, poster, branch_id=cloud.link["branch_id"])
    status, answer = await send(cloud, webhook(330660))
    assert status == 200 and answer["outcome"] == "already_counted"
    assert (await cloud.card(ann["card_code"]))["balance"] == 1


async def test_given_the_webhook_came_first_then_the_agent_s_copy_adds_nothing(
    cloud: Cloud, poster: PosterApi
) -> None:
    ann = await cloud.customer("ann@example.com")
    poster.transactions["330660"] = closed_check("330660", "38")
    poster.clients["38"] = client("38", card_number=ann["number"])
    await link(cloud, poster)
    assert (await send(cloud, webhook(330660)))[1]["outcome"] == "stamped"
    order_id = f"poster-{DATE_START}"
    results = await cloud.post_events(
        [event("order.stamped", order(order_id, 1, customer={"card": ann["card_code"]}))]
    )
    assert results[0]["status"] == "rejected" and "already recorded" in results[0]["reason"]
    assert (await cloud.card(ann["card_code"]))["balance"] == 1


async def test_given_other_hooks_then_they_are_accepted_without_crediting(
    cloud: Cloud, poster: PosterApi
) -> None:
    """An item added (``data`` says so: no API call), an open check, a check without a client,
    a client naming no card, a check closed unpaid, a ``client`` change: all 200 ``accept``,
    no stamp."""
    ann = await cloud.customer("ann@example.com")
    poster.transactions["20"] = {**closed_check("20", "38"), "status": "1"}
    poster.transactions["21"] = closed_check("21", "0")
    poster.transactions["22"] = closed_check("22", "39")
    poster.transactions["23"] = {**closed_check("23", "38", "0"), "pay_type": "0", "reason": "1"}
    poster.clients["38"] = client("38", card_number=ann["number"])
    poster.clients["39"] = client("39", card_number="0000000000222")
    await link(cloud, poster)
    additem = '{"transactions_history":{"type_history":"additem","value":483}}'
    cases = [
        (webhook(19, action="changed", data=additem), "not_closed"),
        (webhook(20), "not_closed"),
        (webhook(21), "no_client"),
        (webhook(22), "client_not_linked"),
        (webhook(23), "not_paid"),
        (webhook(38, obj="client", action="changed"), "ignored"),
        (webhook(22, action="removed"), "ignored"),
    ]
    for body, outcome in cases:
        status, answer = await send(cloud, body)
        assert status == 200 and answer == {
            "status": "accept",
            "outcome": outcome,
            "order_id": answer["order_id"],
            "replay": False,
        }
    assert poster.calls["dash.getTransaction"] == 4
    assert (await cloud.card(ann["card_code"]))["balance"] == 0


async def test_given_poster_s_api_down_then_503_and_poster_s_retry_credits_once(
    cloud: Cloud, poster: PosterApi
) -> None:
    ann = await cloud.customer("ann@example.com")
    poster.transactions["30"] = closed_check("30", "38")
    poster.clients["38"] = client("38", card_number=ann["number"])
    await link(cloud, poster)
    poster.down = True
    status, answer = await send(cloud, webhook(30))
    assert status == 503 and answer["error"]["code"] == "poster_unreachable"
    poster.down = False
    assert (await send(cloud, webhook(30)))[1]["outcome"] == "stamped"
    assert (await cloud.card(ann["card_code"]))["balance"] == 1


async def test_given_no_link_or_a_disabled_one_then_404_and_only_the_admin_sets_it(
    cloud: Cloud, poster: PosterApi
) -> None:
    status, answer = await send(cloud, webhook(1))
    assert status == 404 and answer["error"]["code"] == "poster_disabled"
    await link(cloud, poster, enabled=False)
    assert (await send(cloud, webhook(1)))[0] == 404
    as_device = await cloud.http.put(
        "/v1/integrations/poster", json={"account": ACCOUNT, "secret": SECRET},
        headers=cloud.device(),
    )  # fmt: skip
    assert as_device.status == 403
    short = await cloud.http.put("/v1/integrations/poster", json={"account": ACCOUNT,
                                 "secret": "x"}, headers=cloud.admin())  # fmt: skip
    assert short.status == 422 and (await short.json())["error"]["field"] == "secret"
    shown = await (await cloud.http.get("/v1/integrations/poster", headers=cloud.admin())).json()
    assert shown["enabled"] is False and shown["account"] == ACCOUNT
    garbage = await cloud.http.post(hook_path(cloud), data=b"\xff\xfe")
    assert garbage.status in (404, 422)


async def test_given_spots_mapped_to_branches_then_each_check_credits_its_spot_s_branch(
    cloud: Cloud, poster: PosterApi
) -> None:
    resp = await cloud.http.post("/v1/branches", json={"name": "Station"}, headers=cloud.admin())
    assert resp.status == 201, await resp.text()
    station = (await resp.json())["branch_id"]
    ann = await cloud.customer("ann@example.com")
    poster.transactions["40"] = {**closed_check("40", "38"), "date_start": "4000", "spot_id": "2"}
    poster.transactions["41"] = {**closed_check("41", "38"), "date_start": "4100", "spot_id": "1"}
    poster.clients["38"] = client("38", card_number=ann["number"])
    shown = await link(cloud, poster, branch_id=cloud.link["branch_id"], spots={"2": station})
    assert shown["spots"] == {"2": station}
    assert (await send(cloud, webhook(40)))[1]["outcome"] == "stamped"
    assert (await send(cloud, webhook(41)))[1]["outcome"] == "stamped"
    async with cloud.store.db.read() as tx:
        rows = await tx.fetch("SELECT order_id, branch_id FROM orders ORDER BY order_id")
    assert [(r["order_id"], int(r["branch_id"])) for r in rows] == [
        ("poster-4000", station),
        ("poster-4100", cloud.link["branch_id"]),
    ]
    other = await cloud.http.put(
        "/v1/integrations/poster", headers=cloud.admin(),
        json={"account": ACCOUNT, "secret": SECRET, "spots": {"3": 999999}},
    )  # fmt: skip
    assert other.status == 404
    bad = await cloud.http.put(
        "/v1/integrations/poster", headers=cloud.admin(),
        json={"account": ACCOUNT, "secret": SECRET, "spots": {"x": station}},
    )  # fmt: skip
    assert bad.status == 422
