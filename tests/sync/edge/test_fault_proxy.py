"""The fault proxy between the uploader and the stand-in cloud: each fault, then recovery."""

from collections.abc import AsyncIterator

import pytest
from yarl import URL

from sync.edge.client import CloudClient, CloudUnreachable
from sync.edge.outbox import Outbox
from sync.edge.uploader import Uploader
from tests.fakes.fault_proxy import FaultProxy
from tests.sync.edge.conftest import order_event
from tests.sync.edge.stand_in_cloud import DEVICE_KEY, StandInCloud

Cloud = tuple[StandInCloud, str]


@pytest.fixture
async def proxy(stand_in: Cloud) -> AsyncIterator[FaultProxy]:
    url = URL(stand_in[1])
    assert url.host is not None and url.port is not None
    p = await FaultProxy(url.host, url.port).start()
    yield p
    await p.close()


@pytest.fixture
async def via_proxy(proxy: FaultProxy) -> AsyncIterator[CloudClient]:
    c = CloudClient(proxy.url, DEVICE_KEY, timeout_s=0.5)
    yield c
    await c.close()


async def test_given_injected_500s_then_pending_until_healed_then_applied_once(
    outbox: Outbox, stand_in: Cloud, proxy: FaultProxy, via_proxy: CloudClient
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a"), order_event("b")])
    proxy.fail_http(500, times=2)
    up = Uploader(outbox, via_proxy)
    for _ in range(2):
        with pytest.raises(CloudUnreachable) as info:
            await up.drain()
        assert info.value.status == 500
    assert cloud.requests == 0 and proxy.stats.injected == 2
    out = await up.drain()
    assert out.applied == 2 and len(cloud.ledger) == 2


async def test_given_the_answer_cut_after_the_cloud_committed_then_resend_is_a_duplicate(
    outbox: Outbox, stand_in: Cloud, proxy: FaultProxy, via_proxy: CloudClient
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a")])
    proxy.cut_after_response(times=1)
    up = Uploader(outbox, via_proxy)
    with pytest.raises(CloudUnreachable) as info:
        await up.drain()
    assert info.value.kind == "network"
    assert len(cloud.ledger) == 1 and proxy.stats.cuts == 1
    assert (await outbox.counts()).pending == 1
    out = await up.drain()
    assert (out.applied, out.duplicate) == (0, 1)
    assert len(cloud.order) == 1


async def test_given_a_slow_link_then_timeout_and_the_retry_is_a_duplicate(
    outbox: Outbox, stand_in: Cloud, proxy: FaultProxy, via_proxy: CloudClient
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a")])
    proxy.delay_s = 2.0
    up = Uploader(outbox, via_proxy)
    with pytest.raises(CloudUnreachable) as info:
        await up.drain()
    assert info.value.kind == "timeout" and len(cloud.ledger) == 1
    proxy.heal()
    assert (await up.drain()).duplicate == 1


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
async def test_given_a_refused_or_silent_link_then_network_trouble_and_nothing_lost(
    outbox: Outbox, stand_in: Cloud, proxy: FaultProxy, via_proxy: CloudClient, fault: str
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a")])
    setattr(proxy, fault, True)
    up = Uploader(outbox, via_proxy)
    with pytest.raises(CloudUnreachable):
        await up.drain()
    assert cloud.requests == 0
    proxy.heal()
    assert (await up.drain()).applied == 1


async def test_given_the_upstream_down_then_the_client_sees_the_connection_closed(
    outbox: Outbox,
) -> None:
    from tests.conftest import free_port

    p = await FaultProxy("127.0.0.1", free_port()).start()
    c = CloudClient(p.url, DEVICE_KEY, timeout_s=1.0)
    try:
        await outbox.append([order_event("a")])
        with pytest.raises(CloudUnreachable) as info:
            await Uploader(outbox, c).drain()
        assert info.value.kind == "network"
    finally:
        await c.close()
        await p.close()
