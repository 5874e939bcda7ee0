"""``GET /kiosk``: the self-service page on a tablet facing the customer.

The camera is always on; a card's QR (or a typed six-digit number) goes to ``POST /v1/scans`` in
``kiosk`` mode, and the answer is shown large and in plain words, then the page resets itself.
There are no links: the customer cannot leave it. The shop's name heads the page and every
answer shown over it.
"""

from html import escape

from agent.pages.html import page, shop_banner, texts_json
from sync.web.texts import t


def render_kiosk_page(*, device_name: str, lang: str = "en", shop: str = "") -> str:
    """The kiosk page for the paired device ``device_name`` of the shop ``shop``."""
    body = f"""<main class="kiosk" data-device="{escape(device_name)}">
<header class="kiosk-head">{shop_banner(shop)}<h1 id="title">{escape(t("kiosk.title", lang))}</h1>
</header>
<div class="camera"><video id="video" muted playsinline autoplay
 aria-label="{escape(t("kiosk.camera", lang))}"></video>
<p class="hint">{escape(t("kiosk.hint", lang))}</p></div>
<form id="typed" class="typed" autocomplete="off">
<label for="number">{escape(t("kiosk.or_type", lang))}</label>
<div class="row"><input id="number" name="number" inputmode="numeric" pattern="[0-9]{{6}}"
 maxlength="6" required aria-describedby="camera-note">
<button type="submit">{escape(t("kiosk.submit", lang))}</button></div>
<p id="camera-note" class="note" role="status"></p></form>
<section id="result" class="result" role="status" aria-live="assertive" hidden>
{shop_banner(shop, "result-shop")}<h2 id="result-title"></h2><p id="result-text" class="big"></p>
<div id="result-stamps" class="stamps"></div><p id="result-detail" class="detail"></p>
</section></main>"""
    return page(
        t("kiosk.title", lang),
        body,
        body_class="kiosk-body",
        scripts=("kiosk.js",),
        data=texts_json(("kiosk.",), lang),
        lang=lang,
    )
