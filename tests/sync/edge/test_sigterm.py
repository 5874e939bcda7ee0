"""A clean stop: the agent SIGTERMed under load (as a service manager does for an update) exits
promptly with 0, every order it acknowledged is stored once, and after a restart all of them
reach the cloud."""

import asyncio
import random
import signal
import subprocess
from pathlib import Path

from tests.agent.conftest import SECRET
from tests.agent.test_kill9 import post_orders_until, resend_unsure, start_agent, wait_healthy
from tests.conftest import free_port
from tests.sync.edge.conftest import wait_until
from tests.sync.edge.stand_in_cloud import DEVICE_KEY, StandInCloud

CYCLES = 4
CLIENTS = 6
STOP_GUARD_S = 15.0  # far above a clean stop (well under a second); only a hang reaches it


async def test_given_sigterm_under_load_then_it_exits_0_and_every_2xx_reaches_the_cloud(
    tmp_path: Path, stand_in: tuple[StandInCloud, str]
) -> None:
    cloud, cloud_url = stand_in
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[cloud]\nurl = "{cloud_url}"\ndevice_key = "{DEVICE_KEY}"\n'
        f'device_secret = "{SECRET}"\n'
    )
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(4321)
    acked: set[str] = set()
    unsure: set[str] = set()

    async def stop(proc: "subprocess.Popen[bytes]") -> int:
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(asyncio.to_thread(proc.wait), STOP_GUARD_S)
        except TimeoutError:
            proc.kill()
            raise AssertionError("the agent did not stop within the guard after SIGTERM") from None

    for cycle in range(CYCLES):
        proc = start_agent(config)
        try:
            await wait_healthy(url, proc)
            await resend_unsure(url, acked, unsure)
            halt = asyncio.Event()
            tasks = [
                asyncio.create_task(post_orders_until(url, f"t{cycle}x{i}", acked, unsure, halt))
                for i in range(CLIENTS)
            ]
            await asyncio.sleep(rng.uniform(0.2, 0.8))
        finally:
            code = await stop(proc)
        halt.set()
        await asyncio.gather(*tasks)
        assert code == 0

    assert len(acked) > CYCLES * CLIENTS
    proc = start_agent(config)
    try:
        await wait_healthy(url, proc)

        def delivered() -> bool:
            return acked <= {m["order_id"] for m in cloud.meta.values()}

        await wait_until(delivered, guard_s=60.0)
    finally:
        assert await stop(proc) == 0
    sent = [m["order_id"] for m in cloud.meta.values()]
    assert all(sent.count(o) == 1 for o in acked), "an order reached the cloud twice"
