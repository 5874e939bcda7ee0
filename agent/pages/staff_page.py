"""``GET /staff``: the staff scanner on a phone or tablet (Manual mode).

Scan a card (camera chosen by the staff, rear by default, torch where the camera has one) or
search by number, email or name; see the card; then add it to a till's next check (Autopilot's
rule), stamp a visit (``manual`` mode) or redeem a reward when this agent has the rewards route.
"""

from html import escape

from agent.pages.html import page, texts_json
from sync.web.texts import t


def render_staff_page(
    *, device_name: str, tills: list[str], can_redeem: bool, lang: str = "en"
) -> str:
    """The staff page; ``tills`` are offered for "next check", the first one chosen."""
    options = "".join(f'<option value="{escape(x)}"></option>' for x in tills)
    first = escape(tills[0]) if tills else ""
    redeem = (
        f"""<form id="redeem" class="row"><label for="reward">{escape(t("staff.redeem.code", lang))}
</label><input id="reward" name="reward" autocomplete="off" required>
<button type="submit">{escape(t("staff.redeem", lang))}</button></form>"""
        if can_redeem
        else f'<p class="note">{escape(t("staff.redeem.missing", lang))}</p>'
    )
    body = f"""<main class="staff" data-device="{escape(device_name)}">
<h1>{escape(t("staff.title", lang))}</h1>
<section class="scan" aria-labelledby="scan-h"><h2 id="scan-h">{escape(t("staff.scan", lang))}</h2>
<video id="video" muted playsinline autoplay aria-label="{escape(t("kiosk.camera", lang))}"></video>
<div class="row"><label for="camera">{escape(t("staff.camera", lang))}</label>
<select id="camera"></select>
<button type="button" id="torch" aria-pressed="false" hidden>
{escape(t("staff.torch", lang))}</button>
</div><p id="camera-note" class="note" role="status"></p></section>
<section aria-labelledby="search-h"><h2 id="search-h">{escape(t("staff.search.title", lang))}</h2>
<form id="search" class="row" autocomplete="off"><label for="q" class="sr-only">
{escape(t("staff.search", lang))}</label><input id="q" name="q" type="search" required>
<button type="submit">{escape(t("staff.find", lang))}</button></form>
<ul id="matches" class="matches"></ul></section>
<section id="card" class="card" aria-labelledby="card-h" hidden>
<h2 id="card-h">{escape(t("staff.card", lang))}</h2>
<p id="card-who" class="who"></p><div id="card-stamps" class="stamps"></div>
<p id="card-balance"></p>
<div class="row"><label for="till">{escape(t("staff.till", lang))}</label>
<input id="till" list="tills" value="{first}" autocomplete="off" maxlength="64">
<datalist id="tills">{options}</datalist>
<button type="button" id="attach">{escape(t("staff.attach", lang))}</button></div>
<div class="row"><button type="button" id="stamp">{escape(t("staff.stamp", lang))}</button></div>
{redeem}</section>
<p id="outcome" class="outcome" role="status" aria-live="polite"></p>
</main>"""
    return page(
        t("staff.title", lang),
        body,
        body_class="staff-body",
        scripts=("staff.js",),
        data=texts_json(("staff.", "kiosk."), lang),
        lang=lang,
    )
