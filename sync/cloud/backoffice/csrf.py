"""CSRF protection for the back office's forms, small on purpose so the signed dashboard session
(issue #14) can replace it: a form's token is an HMAC of the signed-in cookie, which another
site cannot read; a POST from another origin is refused before its token is even looked at."""

import hashlib
import hmac

from aiohttp import web

from sync.cloud.errors import Forbidden

FIELD = "csrf"


def token_for(session: str) -> str:
    """The token the forms of ``session`` (the sign-in cookie's value) carry."""
    return hmac.new(session.encode(), b"stampedge back office form", hashlib.sha256).hexdigest()


def check(request: web.Request, session: str, sent: str) -> None:
    """Refuse (403) a form posted from another origin or without this session's token."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        own = f"{request.scheme}://{request.host}"
        if origin != own:
            raise Forbidden("this form was sent from another site", code="bad_origin")
    if not sent or not hmac.compare_digest(sent, token_for(session)):
        raise Forbidden("this form has expired: reload the page and try again", code="bad_csrf")
