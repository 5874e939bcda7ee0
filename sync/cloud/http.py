"""The cloud's HTTP boundary: typed app keys, errors as JSON, keys from ``Authorization``.

Every error leaves as ``{"error": {"code", "message", "field"}}``; ``StoreError`` (and the
agent's ``AgentError`` raised by the shared body reader) carry their status. Input the databases
cannot hold (NUL characters, lone surrogates) is refused here with 422, so bad input never
reaches a driver and never becomes a 5xx.
"""

import hmac
import logging
import random
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from config.cloud import CloudSettings
from sync.cloud import dashboard_session
from sync.cloud.batch_reader import BatchReader
from sync.cloud.errors import Forbidden, InvalidInput, Unauthorized
from sync.cloud.metrics import CloudMetrics
from sync.cloud.store import Principal, Store
from sync.web.http_util import make_errors_middleware, read_model
from sync.web.throttle import GUESSES, check

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

SETTINGS = web.AppKey("settings", CloudSettings)
STORE = web.AppKey("store", Store)
RNG = web.AppKey("rng", random.Random)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
METRICS = web.AppKey("metrics", CloudMetrics)
READER = web.AppKey("batch_reader", BatchReader)

_BAD_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2}|[dD][c-fC-F][0-9a-fA-F]{2})")


def unstorable(text: str) -> bool:
    """True if ``text`` holds a character no database here stores (NUL, lone surrogate)."""
    return any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in text)


def refuse_unstorable_json(raw: bytes) -> None:
    """422 for a JSON body that spells NUL or a lone surrogate as a ``\\u`` escape."""
    if _BAD_ESCAPE.search(raw):
        raise InvalidInput("text with NUL characters or lone surrogates is not accepted")


async def read_body(request: web.Request, model: type[M], *, optional: bool = False) -> M:
    """The JSON body as ``model`` (422 otherwise), refusing NUL and lone surrogates."""
    refuse_unstorable_json(await request.read())
    return await read_model(request, model, optional=optional)


def now(request: web.Request) -> datetime:
    """The app's clock."""
    return request.app[CLOCK]()


def bearer(request: web.Request) -> str | None:
    """The bearer key of the request, if any."""
    auth = request.headers.get("Authorization", "")
    scheme, _, key = auth.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


async def principal(request: web.Request, *, need: str | None = None) -> Principal:
    """Who the request acts as (401 without a current key; 403 if ``need`` is another kind)."""
    key = bearer(request)
    if key is None:
        raise Unauthorized("an Authorization: Bearer key is needed")
    guesses = request.app[GUESSES].keys
    client = check(request, guesses)
    try:
        if unstorable(key) or len(key) > 200:
            raise Unauthorized("unknown key")
        who = await request.app[STORE].authenticate(key)
    except Unauthorized:
        guesses.fail(client)
        raise
    if need is not None and who.kind != need:
        raise Forbidden(f"this needs a {need} key")
    return who


async def optional_principal(request: web.Request) -> Principal | None:
    """The key's principal if a valid key was given, else ``None``."""
    try:
        return await principal(request) if bearer(request) else None
    except Unauthorized:
        return None


def int_param(value: str | None, name: str, *, default: int | None = None) -> int | None:
    """A non-negative integer query or path parameter (422 if not one)."""
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return int(value)


cloud_errors = make_errors_middleware("cloud")


@web.middleware
async def refuse_unstorable(request: web.Request, handler: Any) -> web.StreamResponse:
    """A path or query with NUL or a lone surrogate is refused before any handler sees it."""
    if unstorable(request.path) or unstorable(request.query_string):
        raise InvalidInput("text with NUL characters or lone surrogates is not accepted")
    resp: web.StreamResponse = await handler(request)
    return resp


ADMIN_COOKIE = "stampedge_admin"  # the owner's signed session (``dashboard_session``), never a key


async def signed_in(request: web.Request) -> tuple[Principal, str, str] | None:
    """The business of a valid session cookie, the cookie's value and the admin-key hash it was
    signed under (the dashboard and the back office share it); ``None`` when there is none."""
    value = request.cookies.get(ADMIN_COOKIE, "")
    session = dashboard_session.parse(value) if 0 < len(value) <= 200 else None
    if session is None:
        return None
    state = await request.app[STORE].session_state(session.business_id, session.nonce)
    now_s = int(now(request).timestamp())
    if state is None or not dashboard_session.verify(value, state.key_hash, now_s):
        return None
    if dashboard_session.ended(
        session, signed_out=state.signed_out, sessions_after_s=state.sessions_after_s
    ):
        return None  # signed out (on this browser or everywhere): a copied cookie too
    return Principal("admin", session.business_id), value, state.key_hash


async def sign_out(request: web.Request, *, everywhere: bool) -> web.HTTPSeeOther:
    """End the request's session on the server (a copy of its cookie stops working too) and,
    ``everywhere``, every session of its business; the redirect that clears the cookie. The
    caller has checked the form's CSRF token."""
    session = dashboard_session.parse(request.cookies.get(ADMIN_COOKIE, ""))
    if session is not None:
        store = request.app[STORE]
        await store.end_session(session.business_id, session.nonce, session.expires_s)
        if everywhere:
            await store.end_all_sessions(session.business_id, int(now(request).timestamp()))
    resp = web.HTTPSeeOther("/dashboard")
    resp.del_cookie(ADMIN_COOKIE, path="/")
    return resp


# The field whose value "1" makes a sign-out form end every session of the business.
EVERYWHERE_FIELD = "everywhere"


# The hidden field every signed-in form (dashboard, back office) carries; a name, not a secret.
FORM_TOKEN_FIELD = "csrf"  # noqa: S105


async def signed_in_form(request: web.Request) -> tuple[Principal, str] | None:
    """The business of a valid session and the CSRF token its pages' forms carry (tied to this
    session: sign-out and admin-key rotation end both); ``None`` when nobody is signed in."""
    found = await signed_in(request)
    if found is None:
        return None
    who, value, key_hash = found
    return who, dashboard_session.csrf_token(value, key_hash)


def check_form_token(request: web.Request, expected: str, sent: str) -> None:
    """Refuse (403) a signed-in form posted from another origin or without its session's token;
    the origin is checked first, so another site learns nothing about the token."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and origin != f"{request.scheme}://{request.host}":
        raise Forbidden("this form was sent from another site", code="bad_origin")
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("this form has expired: reload the page and try again", code="bad_csrf")
