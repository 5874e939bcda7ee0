"""Every sentence a person reads (pages, receipts, mails), from the message catalogues under
``sync/web/locales/<lang>/LC_MESSAGES/messages.po``.

Code calls ``t(key, lang, **values)``: the ``msgid`` is the key, the ``msgstr`` the sentence with
``{names}`` filled in. A plural entry (``msgid_plural``) takes ``n`` and picks its form by the
language's own rule (Polish and Ukrainian have three); ``plural(key, n, lang)`` says the same.
A language that lacks an entry falls back to English.

The ``.po`` files are compiled in memory when this module is imported (Babel writes the ``.mo``
bytes, the standard library's ``gettext`` reads them), so nothing is built before the agent or
the cloud runs, and no file is read on the event loop.
"""

import gettext
import io
from html import escape
from pathlib import Path
from string import Formatter

from babel.core import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from sync.contract.languages import DEFAULT_LANGUAGE, LANGUAGES

LOCALES_DIR = Path(__file__).with_name("locales")


Entries = dict[str, str | tuple[str, ...]]  # a language's sentences by key (plural: the forms)


def _compile(lang: str) -> tuple[gettext.GNUTranslations, Entries]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    entries: Entries = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        text = message.string
        entries[key] = tuple(text) if isinstance(text, tuple | list) else str(text or "")
    return gettext.GNUTranslations(mo), entries


def _load() -> tuple[
    dict[str, gettext.GNUTranslations], dict[str, dict[str, str | tuple[str, ...]]]
]:
    translations: dict[str, gettext.GNUTranslations] = {}
    entries: dict[str, dict[str, str | tuple[str, ...]]] = {}
    for lang in LANGUAGES:
        translations[lang], entries[lang] = _compile(lang)
    for lang in LANGUAGES[1:]:
        translations[lang].add_fallback(translations[DEFAULT_LANGUAGE])
    return translations, entries


_TRANSLATIONS, CATALOGUES = _load()
for _lang in LANGUAGES:  # CLDR's plural rules and names, read from disk now, not on the loop
    Locale.parse(_lang).plural_form(1)
    Locale.parse(_lang).get_display_name(_lang)
# The keys the code may ask for (English is complete by definition) and which of them are plural.
KEYS: frozenset[str] = frozenset(CATALOGUES[DEFAULT_LANGUAGE])
PLURAL_KEYS: frozenset[str] = frozenset(
    k for k, v in CATALOGUES[DEFAULT_LANGUAGE].items() if isinstance(v, tuple)
)
# The singular sentences by language and key (what the page tests and scripts list).
TEXTS: dict[str, dict[str, str]] = {
    lang: {k: v for k, v in entries.items() if isinstance(v, str) and v}
    for lang, entries in CATALOGUES.items()
}


def supported(lang: str | None) -> str | None:
    """``lang`` (``de``, ``de-AT``, ``pl_PL``) as one of ``LANGUAGES``, or None."""
    if not lang:
        return None
    base = lang.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The sentence for ``key`` in ``lang`` with ``values`` filled in (``n`` picks a plural)."""
    if key not in KEYS:
        raise KeyError(key)
    tr = _TRANSLATIONS.get(supported(lang) or DEFAULT_LANGUAGE, _TRANSLATIONS[DEFAULT_LANGUAGE])
    if key in PLURAL_KEYS:
        n = values.get("n", 1)
        text = tr.ngettext(key, key, n if isinstance(n, int) else 2)
    else:
        text = tr.gettext(key)
    return text.format(**values) if values else text


def markup(key: str, lang: str = DEFAULT_LANGUAGE, count: int | None = None, **html: str) -> str:
    """The sentence for ``key`` escaped as HTML, with ``html`` (already safe markup, such as a
    ``<strong>`` around a figure) filled in; ``count`` picks a plural form."""
    if key not in KEYS:
        raise KeyError(key)
    tr = _TRANSLATIONS.get(supported(lang) or DEFAULT_LANGUAGE, _TRANSLATIONS[DEFAULT_LANGUAGE])
    if key in PLURAL_KEYS:
        text = tr.ngettext(key, key, 1 if count is None else count)
    else:
        text = tr.gettext(key)
    return escape(text).format(**html)


def plural(key: str, n: int, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The plural entry ``key`` for ``n`` (``{n}`` filled in)."""
    return t(key, lang, n=n, **values)


def plural_forms(key: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """A plural entry's sentences by CLDR category (``one``, ``few``, ``many``, ``other``), for
    scripts that choose with ``Intl.PluralRules``."""
    code = supported(lang) or DEFAULT_LANGUAGE
    locale = Locale.parse(code)
    tr = _TRANSLATIONS[code]
    forms: dict[str, str] = {}
    for n in range(0, 112):
        forms.setdefault(locale.plural_form(n), tr.ngettext(key, key, n))
    forms.setdefault("other", tr.ngettext(key, key, 5))
    return forms


def placeholders(key: str, lang: str = DEFAULT_LANGUAGE) -> set[str]:
    """The ``{names}`` an entry's sentences need (all plural forms together)."""
    value = CATALOGUES[lang].get(key, "")
    texts = value if isinstance(value, tuple) else (value,)
    return {f for text in texts for _, f, _, _ in Formatter().parse(text) if f}
