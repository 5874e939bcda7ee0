"""The message catalogues: complete in every language, nothing in them that no code uses, every
key the code asks for present, placeholders the same in every translation, plurals by rule."""

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from sync.contract.languages import LANGUAGES
from sync.web.texts import CATALOGUES, KEYS, LOCALES_DIR, PLURAL_KEYS, placeholders, plural, t

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ["agent", "sync", "printers", "drivers", "config"]


def _python_files() -> list[Path]:
    return [p for d in SOURCES for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts]


def _string_constants() -> set[str]:
    found: set[str] = set()
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    for path in (ROOT / "agent" / "pages" / "static").glob("*.js"):
        found |= set(re.findall(r"T\['([\w.]+)'\]", path.read_text(encoding="utf-8")))
    return found


def _asked_keys() -> set[str]:
    """The literal first argument of every ``t(...)`` and ``plural(...)`` call."""
    asked: set[str] = set()
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("t", "plural")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                asked.add(node.args[0].value)
    return asked


@pytest.mark.parametrize("lang", LANGUAGES)
def test_given_a_language_then_its_catalogue_has_every_key_translated(lang: str) -> None:
    """Given each language's .po file, then every English key is there, not empty, not fuzzy,
    with the same placeholders, and a plural entry has as many forms as the language needs."""
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    missing = sorted(KEYS - set(CATALOGUES[lang]))
    assert not missing, f"{lang} lacks {missing}"
    for key in sorted(KEYS):
        value = CATALOGUES[lang][key]
        forms = value if isinstance(value, tuple) else (value,)
        assert all(forms), f"{lang}: {key} is empty"
        assert placeholders(key, lang) == placeholders(key), f"{lang}: {key} placeholders"
        if key in PLURAL_KEYS:
            assert len(forms) == catalog.num_plurals, f"{lang}: {key} plural forms"
    assert not [m.id for m in catalog if m.id and m.fuzzy]
    assert set(CATALOGUES[lang]) == KEYS, f"{lang} has keys English lacks"


def test_given_the_code_then_every_catalogue_entry_is_used_somewhere() -> None:
    """Given every string in the packages' code and the pages' scripts, then each catalogue key
    appears in it: an entry no code uses is a translation nobody reads."""
    unused = sorted(KEYS - _string_constants())
    assert not unused, f"catalogue entries no code uses: {unused}"


def test_given_the_code_then_every_key_it_asks_for_is_in_the_catalogue() -> None:
    """Given every t("...") and plural("...") call, then its key is an English entry."""
    unknown = sorted(_asked_keys() - KEYS)
    assert not unknown, f"keys asked for but not in the catalogues: {unknown}"


def test_given_plural_entries_then_each_language_picks_its_own_form() -> None:
    """Given "{n} stamps added", then Polish and Ukrainian say 1 / 2-4 / 5+ differently."""
    assert [plural("kiosk.added", n, "pl") for n in (1, 3, 5, 22)] == [
        "Dodano 1 pieczątkę", "Dodano 3 pieczątki", "Dodano 5 pieczątek", "Dodano 22 pieczątki"
    ]  # fmt: skip
    assert [plural("kiosk.added", n, "uk") for n in (1, 3, 11, 21)] == [
        "Додано 1 печатку", "Додано 3 печатки", "Додано 11 печаток", "Додано 21 печатку"
    ]  # fmt: skip
    assert plural("kiosk.added", 1, "en") == "1 stamp added"
    assert t("claim.added", "de", n=2) == "2 Stempel auf Ihrer Karte"


def test_given_an_unknown_language_then_english_and_an_unknown_key_fails_loudly() -> None:
    assert t("card.title", "fr") == t("card.title", "en") == "Your card"
    assert t("card.title", "de-AT") == "Ihre Karte"
    with pytest.raises(KeyError):
        t("no.such.key", "en")
