"""Sign-out ends a dashboard session on the server, "sign out everywhere" ends every session of
the business, and housekeeping forgets the ended sessions once they have expired anyway
(issue #14, ``sync/cloud/store/sessions.py``), on SQLite and PostgreSQL."""

from typing import Any

from sync.cloud.housekeeping import housekeeping_round
from tests.sync.cloud.conftest import Cloud

COOKIE = "stampedge_admin"


async def _sign_in(cloud: Cloud) -> str:
    """A new browser's session: its cookie's value (the client's jar is left empty)."""
    resp = await cloud.http.post(
        "/dashboard/login", data={"key": cloud.link["admin_key"]}, allow_redirects=False
    )
    assert resp.status == 303
    value = resp.cookies[COOKIE].value
    cloud.http.session.cookie_jar.clear()
    return value


async def _get(cloud: Cloud, path: str, value: str) -> tuple[int, str]:
    resp = await cloud.http.get(path, headers={"Cookie": f"{COOKIE}={value}"})
    text = await resp.text()
    cloud.http.session.cookie_jar.clear()
    return resp.status, text


async def _csrf(cloud: Cloud, value: str) -> str:
    status, html = await _get(cloud, "/dashboard", value)
    assert status == 200
    return html.split('name="csrf"', 1)[1].split('value="', 1)[1].split('"', 1)[0]


async def _post(cloud: Cloud, path: str, value: str, data: dict[str, str]) -> Any:
    resp = await cloud.http.post(
        path, data=data, headers={"Cookie": f"{COOKIE}={value}"}, allow_redirects=False
    )
    cloud.http.session.cookie_jar.clear()
    return resp


async def _ended_rows(cloud: Cloud) -> int:
    async with cloud.store.db.read() as tx:
        return len(await tx.fetch("SELECT nonce FROM ended_sessions"))


async def test_given_a_cookie_copied_before_sign_out_then_it_is_refused_after_it(
    cloud: Cloud,
) -> None:
    """Given a signed-in browser whose cookie was copied, when it signs out, then the copy
    opens neither the dashboard, the back office nor a back-office download; another
    browser's session goes on."""
    stolen = await _sign_in(cloud)
    other = await _sign_in(cloud)
    assert (await _get(cloud, "/dashboard", stolen))[0] == 200
    assert (await _get(cloud, "/v1/vouchers/batch", stolen))[0] == 200
    out = await _post(cloud, "/dashboard/logout", stolen, {"csrf": await _csrf(cloud, stolen)})
    assert out.status == 303 and out.cookies[COOKIE].value == ""
    assert (await _get(cloud, "/dashboard", stolen))[0] == 401
    assert (await _get(cloud, "/backoffice", stolen))[0] == 401
    assert (await _get(cloud, "/v1/vouchers/batch", stolen))[0] == 401
    assert (await _get(cloud, "/dashboard", other))[0] == 200


async def test_given_two_browsers_when_one_signs_out_everywhere_then_both_sessions_end(
    cloud: Cloud,
) -> None:
    """Given two browsers signed in, when one presses "sign out everywhere" in the back office,
    then neither session opens a page; a sign-in after it (even in the same second) works;
    the dashboard's own button does the same."""
    first, second = await _sign_in(cloud), await _sign_in(cloud)
    status, html = await _get(cloud, "/backoffice", first)
    assert status == 200 and 'name="everywhere" value="1"' in html
    out = await _post(cloud, "/backoffice/logout", first,
                      {"csrf": await _csrf(cloud, first), "everywhere": "1"})  # fmt: skip
    assert out.status == 303
    assert (await _get(cloud, "/dashboard", second))[0] == 401
    assert (await _get(cloud, "/backoffice", first))[0] == 401
    third = await _sign_in(cloud)
    assert (await _get(cloud, "/dashboard", third))[0] == 200
    cloud.clock.advance(seconds=30)
    fourth = await _sign_in(cloud)
    status, html = await _get(cloud, "/dashboard", fourth)
    assert status == 200 and 'id="sign-out-everywhere"' in html
    out = await _post(cloud, "/dashboard/logout", fourth,
                      {"csrf": await _csrf(cloud, fourth), "everywhere": "1"})  # fmt: skip
    assert out.status == 303
    assert (await _get(cloud, "/dashboard", third))[0] == 401
    assert (await _get(cloud, "/dashboard", fourth))[0] == 401


async def test_given_sessions_signed_out_then_housekeeping_sweeps_them_once_expired(
    cloud: Cloud,
) -> None:
    """Given one session signed out now and one four hours later, when housekeeping runs
    after the first would have expired, then only the first's row goes; after the second's
    expiry it goes too."""
    early = await _sign_in(cloud)
    await _post(cloud, "/dashboard/logout", early, {"csrf": await _csrf(cloud, early)})
    cloud.clock.advance(hours=4)
    late = await _sign_in(cloud)
    await _post(cloud, "/dashboard/logout", late, {"csrf": await _csrf(cloud, late)})
    assert await _ended_rows(cloud) == 2
    app = cloud.http.server.app
    assert await housekeeping_round(app) == 0
    cloud.clock.advance(hours=4)  # the early one's 8 hours are over
    assert await housekeeping_round(app) == 1
    assert await _ended_rows(cloud) == 1
    assert (await _get(cloud, "/dashboard", late))[0] == 401
    cloud.clock.advance(hours=4)
    assert await housekeeping_round(app) == 1
    assert await _ended_rows(cloud) == 0
