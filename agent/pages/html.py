"""The shell every phone and tablet page shares, and the pairing form (server-rendered, escaped).

Pages carry no inline script or style: their JavaScript and CSS are files under ``static/``
served by the agent, so a strict Content-Security-Policy (``script-src 'self'``) holds. The
sentences come from ``sync.web.texts``; those the script needs travel in a JSON data block.
"""

import json
from html import escape

from sync.web.texts import KEYS, PLURAL_KEYS, plural_forms, t


def texts_json(prefixes: tuple[str, ...], lang: str = "en") -> str:
    """The sentences under ``prefixes`` as JSON safe inside a ``<script type=application/json>``
    (a plural entry as its forms by CLDR category, for ``Intl.PluralRules``)."""
    keys = sorted(k for k in KEYS if k.startswith(prefixes))
    data = {k: plural_forms(k, lang) if k in PLURAL_KEYS else t(k, lang) for k in keys}
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace("&", "\\u0026")


def page(
    title: str,
    body: str,
    *,
    body_class: str,
    scripts: tuple[str, ...] = (),
    data: str = "",
    lang: str = "en",
) -> str:
    """A whole page: no inline script or style, scripts as modules from ``/static/``."""
    tags = "".join(f'<script type="module" src="/static/{escape(s)}"></script>' for s in scripts)
    block = f'<script type="application/json" id="texts">{data}</script>' if data else ""
    return f"""<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title><link rel="stylesheet" href="/static/pages.css">{tags}</head>
<body class="{escape(body_class)}">{body}{block}</body></html>"""


def shop_banner(shop: str, element_id: str = "shop") -> str:
    """The shop's name (as the cloud sends it) atop a page a customer or cashier sees; nothing
    before the cloud has said it."""
    return f'<p class="shop" id="{element_id}">{escape(shop)}</p>' if shop else ""


def render_pair_page(
    *, code: str = "", problem: str = "", status: str = "", lang: str = "en", shop: str = ""
) -> str:
    """The only thing an unpaired device sees: enter the code from the status page."""
    note = f'<p class="problem" role="alert">{escape(problem)}</p>' if problem else ""
    info = f'<p class="notice" role="status">{escape(status)}</p>' if status else ""
    head = f"{shop_banner(shop)}<h1>{escape(t('pair.title', lang))}</h1>"
    body = f"""<main class="pair">{head}{info}{note}
<p>{escape(t("pair.hint", lang))}</p>
<form method="post" action="/pair">
<p><label for="code">{escape(t("pair.code", lang))}</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*"
 maxlength="9" required value="{escape(code)}"></p>
<p><label for="name">{escape(t("pair.name", lang))}</label>
<input id="name" name="name" maxlength="60" autocomplete="off"></p>
<p><button type="submit">{escape(t("pair.button", lang))}</button></p></form></main>"""
    return page(t("pair.title", lang), body, body_class="plain", lang=lang)
