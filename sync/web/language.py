"""Which language a page speaks: the switcher's choice (``?lang=``, then remembered in a cookie),
else the browser's ``Accept-Language``, else the business's default.

A switcher is a short list of plain links (``?lang=pl``), each named in its own language, so it
works without script and a screen reader announces each name in the right voice (``lang=``).
"""

from html import escape

from aiohttp import web
from babel.core import Locale

from sync.contract.languages import DEFAULT_LANGUAGE, LANGUAGES
from sync.web.texts import supported, t

LANG_COOKIE = "stampedge_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
_MAX_ACCEPT_ITEMS = 20  # a hostile header with thousands of items costs no more than this


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an ``Accept-Language`` header (q-values honoured)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(header.split(",")[:_MAX_ACCEPT_ITEMS]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        lang = supported(tag)
        if lang is not None and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


def choose(
    *, asked: str | None, cookie: str | None, accept: str | None, default: str | None
) -> str:
    """The language for a customer's page, in order of precedence."""
    return (
        supported(asked)
        or supported(cookie)
        or from_accept_language(accept)
        or supported(default)
        or DEFAULT_LANGUAGE
    )


def request_language(request: web.Request, default: str | None) -> str:
    """The language of a customer page for ``request`` (``default``: the business's)."""
    return choose(
        asked=request.query.get("lang"),
        cookie=request.cookies.get(LANG_COOKIE),
        accept=request.headers.get("Accept-Language"),
        default=default,
    )


def remember(request: web.Request, response: web.StreamResponse, lang: str) -> None:
    """Keep a language picked with the switcher (``?lang=``) for the next pages."""
    if supported(request.query.get("lang")) == lang and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )


def language_name(lang: str) -> str:
    """A language's name in that language (``Deutsch``, ``polski``, ``українська``)."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def switcher(current: str) -> str:
    """The language links of a customer page (the current one marked, not a link)."""
    items = []
    for lang in LANGUAGES:
        name = escape(language_name(lang))
        if lang == current:
            items.append(f'<li><strong lang="{lang}" aria-current="true">{name}</strong></li>')
        else:
            items.append(
                f'<li><a href="?lang={lang}" hreflang="{lang}" lang="{lang}">{name}</a></li>'
            )
    label = escape(t("lang.label", current))
    return f'<nav class="langs" aria-label="{label}"><ul>{"".join(items)}</ul></nav>'
