"""The shared page frame of the cloud's pages: one small inline stylesheet, nothing external."""

from html import escape

from sync.web.language import switcher
from sync.web.page_table import TABLE_CSS
from sync.web.texts import t

CSS = (
    """
:root{--ink:#141414;--mute:#4d4d4d;--brand:#0b5d3b;--brand-ink:#fff;--bad:#9b1c1c;
--line:#d6d6d6;--bg:#f6f4ef;--card:#fff;--fresh:#c2410c}
*{box-sizing:border-box}select,input{max-width:100%}html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:17px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}main{max-width:480px;margin:0 auto;padding:16px}
main.wide{max-width:1100px}
.shop{font-size:1.1rem;font-weight:800;color:var(--brand);margin:.25rem 0 .5rem}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .75rem}
h2{font-size:1.15rem;margin:1rem 0 .5rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:14px;padding:16px;
margin:0 0 14px}.lead{font-size:1.25rem;font-weight:700;color:var(--brand)}
.mute{color:var(--mute)}.bad{color:var(--bad)}.big{font-size:2rem;font-weight:800}
.stamps{list-style:none;display:grid;grid-template-columns:repeat(5,1fr);gap:8px;padding:0;
margin:12px 0}.stamp svg{width:100%;height:auto;display:block}
.stamp circle{fill:#fff;stroke:#8a8a8a;stroke-width:1.5;stroke-dasharray:3 2}
.stamp.on circle{fill:var(--brand);stroke:var(--brand);stroke-dasharray:none}
.stamp.fresh circle{fill:var(--fresh);stroke:var(--fresh)}
.stamp path{fill:none;stroke:#fff;stroke-width:2.4;stroke-linecap:round;stroke-linejoin:round}
.btn{display:inline-block;background:var(--brand);color:var(--brand-ink);border:0;
border-radius:10px;padding:12px 18px;font:inherit;font-weight:700;text-decoration:none;
min-height:48px;cursor:pointer}.btn:focus-visible,a:focus-visible{outline:3px solid #1a4fd1;
outline-offset:2px}a{color:#0a4a8f}.qr{display:flex;justify-content:center;margin:8px 0}
.code{font:700 1.4rem/1.2 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.08em;
text-align:center;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{text-align:left;
padding:6px 8px;border-bottom:1px solid var(--line)}th{background:#efece4}
.scroll{overflow-x:auto}.scroll:focus-visible{outline:3px solid #1a4fd1}
.vcode{font:700 1rem/1.3 ui-monospace,Menlo,Consolas,monospace}
.grid{display:grid;gap:14px;grid-template-columns:repeat(auto-fit,
minmax(min(300px,100%),1fr))}.chart{max-width:100%;height:auto}
.chartbox{overflow-x:auto}
.langs ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;padding:0;margin:4px 0 10px;
font-size:.95rem}.langs a{display:inline-block;padding:10px 0;min-height:44px}
.langs strong{display:inline-block;padding:10px 0}
"""
    + TABLE_CSS
    + """
@media (max-width:359px){body{font-size:16px}.stamps{gap:5px}.big{font-size:1.6rem}}
"""
)


def page(
    title: str, body: str, *, lang: str = "en", wide: bool = False, langs: bool = False
) -> str:
    """A whole HTML document around ``body`` (already escaped by the caller); ``langs``: a
    customer page, with the language switcher on top."""
    cls = ' class="wide"' if wide else ""
    if langs:
        body = switcher(lang) + body
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>"
        f"<body><main{cls}>{body}</main></body></html>"
    )


def shop_banner(business: str, lang: str = "en") -> str:
    """The shop's name above a page whose heading says something else (every customer page
    shows whose card it is)."""
    return f'<p class="shop" id="shop">{escape(business or t("brand", lang))}</p>'
