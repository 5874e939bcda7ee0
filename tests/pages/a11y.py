"""Accessibility basics checked in the browser: contrast, names, and no sideways scrolling."""

from typing import Any

# WCAG 2 contrast of every visible text node against the first opaque background behind it.
_CONTRAST_JS = """
() => {
  function rgb(s) { const m = s.match(/[\\d.]+/g); return m ? m.map(Number) : [0,0,0,0]; }
  function lum([r,g,b]) {
    const f = c => { c /= 255; return c <= 0.03928 ? c/12.92 : Math.pow((c+0.055)/1.055, 2.4); };
    return 0.2126*f(r) + 0.7152*f(g) + 0.0722*f(b);
  }
  function bg(el) {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.9) return c.slice(0,3);
    }
    return [255,255,255];
  }
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (el.closest('svg')) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') continue;
    const fg = rgb(st.color).slice(0,3), b = bg(el);
    const [hi, lo] = [lum(fg), lum(b)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const large = parseFloat(st.fontSize) >= 24 ||
                  (parseFloat(st.fontSize) >= 18.66 && Number(st.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5))
      bad.push(node.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2));
  }
  return bad;
}
"""

_NAMES_JS = """
() => {
  const bad = [];
  // a hidden input is not shown nor in the accessibility tree: nothing to name
  for (const el of document.querySelectorAll(
      'a, button, input:not([type=hidden]), svg[role=img], img')) {
    const name = el.getAttribute('aria-label') || el.getAttribute('alt') ||
      (el.id && document.querySelector('label[for="' + el.id + '"]')?.textContent) ||
      el.textContent;
    if (!name || !name.trim()) bad.push(el.outerHTML.slice(0, 60));
  }
  if (!document.documentElement.lang) bad.push('html without lang');
  if (!document.title) bad.push('no title');
  return bad;
}
"""


async def check_accessibility(page: Any) -> None:
    """Fail with the offending texts and elements if the page breaks the basics."""
    low = await page.evaluate(_CONTRAST_JS)
    assert not low, f"text below WCAG AA contrast: {low}"
    unnamed = await page.evaluate(_NAMES_JS)
    assert not unnamed, f"elements without an accessible name: {unnamed}"
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = await page.evaluate("window.innerWidth")
    assert width <= viewport, f"page scrolls sideways: {width} > {viewport}"


# The distinct line tops of an element's text on screen (1: nothing broken over lines).
_LINES_JS = """
(el) => { const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), tops = new Set();
          while (w.nextNode()) {
            const r = document.createRange(); r.selectNodeContents(w.currentNode);
            for (const b of r.getClientRects()) tops.add(Math.round(b.top)); }
          return tops.size; }
"""


async def lines_on_screen(locator: Any) -> int:
    """How many lines the element's text takes as drawn (an id broken mid-word takes 2)."""
    return int(await locator.evaluate(_LINES_JS))
