"""The language of a customer page on the cloud: the phone's choice, else its browser's, else the
business's (``cloud.language``); a choice made with the switcher is remembered in a cookie."""

from aiohttp import web

from sync.cloud.http import SETTINGS
from sync.web.language import remember, request_language


def customer_language(request: web.Request) -> str:
    """The language to render a claim or card page in."""
    return request_language(request, request.app[SETTINGS].cloud.language)


def html_page(request: web.Request, text: str, lang: str, status: int = 200) -> web.Response:
    """A customer page's answer; keeps a language just picked with the switcher."""
    resp = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Content-Language"] = lang
    resp.headers["Vary"] = "Accept-Language, Cookie"
    remember(request, resp, lang)
    return resp
