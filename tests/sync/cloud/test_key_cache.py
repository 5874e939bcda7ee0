"""The key cache (``sync/cloud/store/key_cache.py``): a key is looked up once per process, and a
revocation or rotation still refuses the old key on the very next request, in this process and
in another cloud process on the same PostgreSQL database."""

import re
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from sync.cloud.errors import Unauthorized
from sync.cloud.store import open_store
from tests.sync.cloud.conftest import Cloud, event, order
from tests.sync.cloud.procs import CloudProcess, cloud_init, write_config


def counter(text: str, name: str, labels: str = "") -> float:
    """One sample of the Prometheus text ``text`` (0 if absent)."""
    found = re.search(rf"^{name}{re.escape(labels)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_given_a_device_syncing_three_times_then_its_key_is_looked_up_once(
    cloud: Cloud,
) -> None:
    """Given a device, when it posts three batches, then all three are applied and the
    cloud's metrics show one key look-up in the database and two answered from the cache."""
    for i in range(3):
        results = await cloud.post_events([event("order.recorded", order(f"K-{i}"))])
        assert [r["status"] for r in results] == ["applied"]
    text = await (await cloud.http.get("/metrics")).text()
    key_cache = "stampedge_cloud_key_cache_total"
    assert counter(text, key_cache, '{result="miss"}') == 1
    assert counter(text, key_cache, '{result="hit"}') == 2
    assert counter(text, "stampedge_cloud_key_cache_keys") == 1


async def test_given_a_cached_device_key_when_the_device_is_deleted_then_the_next_sync_is_401(
    cloud: Cloud,
) -> None:
    """Given a device whose key the cloud has cached, when the owner deletes the device, then
    its very next batch is refused with 401 and nothing of it is stored."""
    await cloud.post_events([event("order.recorded", order("D-1"))])
    await cloud.post_events([event("order.recorded", order("D-2"))])
    gone = await cloud.http.delete(f"/v1/devices/{cloud.link['device_id']}", headers=cloud.admin())
    assert gone.status == 200
    late = event("order.recorded", order("D-3"))
    resp = await cloud.http.post("/v1/sync/events", json={"events": [late]}, headers=cloud.device())
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthorized"
    async with cloud.store.db.read() as tx:
        assert await tx.fetchval("SELECT COUNT(*) FROM events WHERE id = ?", late["id"]) == 0


async def test_given_a_cached_admin_key_when_rotated_then_the_old_key_is_401_at_once(
    cloud: Cloud,
) -> None:
    """Given an admin key the cloud has cached, when the owner rotates it, then the next request
    with the old key is 401 and the new key works."""
    for _ in range(2):
        assert (await cloud.http.get("/v1/devices", headers=cloud.admin())).status == 200
    rotated = await cloud.http.post("/v1/admin-key", headers=cloud.admin())
    assert rotated.status == 201, await rotated.text()
    new_key = (await rotated.json())["admin_key"]
    old = await cloud.http.get("/v1/devices", headers=cloud.admin())
    assert old.status == 401
    fresh = await cloud.http.get("/v1/devices", headers={"Authorization": f"Bearer {new_key}"})
    assert fresh.status == 200


@pytest.mark.slow
@pytest.mark.postgres
async def test_given_two_processes_when_one_revokes_then_the_other_refuses_the_next_request(
    fresh_pg_dsn: str, tmp_path: Path
) -> None:
    """Given two cloud processes on one PostgreSQL database and a device and admin key each has
    cached, when the device is deleted and the admin key rotated through process A, then the
    next request to process B with either old key is 401."""
    config_a, port_a = write_config(tmp_path, fresh_pg_dsn)
    config_b, port_b = write_config(tmp_path, fresh_pg_dsn)
    link = cloud_init(config_a)
    a = CloudProcess(config_a, port_a, tmp_path / "a.log")
    b = CloudProcess(config_b, port_b, tmp_path / "b.log")
    device = {"Authorization": f"Bearer {link['device_key']}"}
    admin = {"Authorization": f"Bearer {link['admin_key']}"}
    try:
        await a.wait_healthy()
        await b.wait_healthy()
        async with aiohttp.ClientSession() as http:
            for i in range(2):
                body = {"events": [event("order.recorded", order(f"B-{i}"))]}
                async with http.post(f"{b.url}/v1/sync/events", json=body, headers=device) as r:
                    assert r.status == 200
                async with http.get(f"{b.url}/v1/devices", headers=admin) as r:
                    assert r.status == 200
            async with http.get(f"{b.url}/metrics") as r:
                hits = counter(await r.text(), "stampedge_cloud_key_cache_total", '{result="hit"}')
                assert hits == 2  # B answers both keys from its cache
            url = f"{a.url}/v1/devices/{link['device_id']}"
            async with http.delete(url, headers=admin) as r:
                assert r.status == 200
            body = {"events": [event("order.recorded", order("B-late"))]}
            async with http.post(f"{b.url}/v1/sync/events", json=body, headers=device) as r:
                assert r.status == 401
            async with http.post(f"{a.url}/v1/admin-key", headers=admin) as r:
                assert r.status == 201
                new_admin = {"Authorization": f"Bearer {(await r.json())['admin_key']}"}
            async with http.get(f"{b.url}/v1/devices", headers=admin) as r:
                assert r.status == 401
            async with http.get(f"{b.url}/v1/devices", headers=new_admin) as r:
                assert r.status == 200
    finally:
        a.stop()
        b.stop()


@pytest.mark.postgres
async def test_given_the_listening_connection_lost_then_a_revocation_made_meanwhile_is_honoured(
    fresh_pg_dsn: str,
) -> None:
    """Given a store that has cached a device key, when its connection listening for key changes
    is killed and the device is revoked behind its back (SQL, no notification), then the key is
    refused: without that connection the cache is not trusted."""
    from datetime import UTC, datetime

    from sync.cloud.provision import init_business

    store = await open_store(fresh_pg_dsn)
    try:
        link = await init_business(store, business="Cafe", branch="Main", rule="per_order")
        key = link["device_key"]
        assert (await store.authenticate(key)).device_id == link["device_id"]
        assert len(store.keys) == 1
        conn = await asyncpg.connect(fresh_pg_dsn)
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
            assert killed == 1
            await conn.execute(
                "UPDATE devices SET revoked_us = $1 WHERE id = $2",
                int(datetime.now(UTC).timestamp() * 1e6),
                link["device_id"],
            )
        finally:
            await conn.close()
        # asyncpg tells the store as soon as the loop reads the closed socket
        for _ in range(200):
            if not store.keys.trusted:
                break
            await store.ping()
        assert store.keys.trusted is False
        with pytest.raises(Unauthorized):
            await store.authenticate(key)
    finally:
        await store.close()
