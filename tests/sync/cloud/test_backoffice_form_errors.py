# ruff: noqa: RUF001 - Ukrainian sentences are checked letter for letter
"""The program editor's validation messages in the page's language: each error pydantic gives
(by its type and the field) is a catalogue sentence naming the field's label and the limit;
an unmapped type says the value is not accepted; never pydantic's English."""

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from sync.cloud.ui.form_errors import form_errors
from sync.web.texts import t
from tests.pages.languages import english_left
from tests.sync.cloud.conftest import Cloud

# each field out of range or unreadable, as an owner might type them
BAD = {
    "rule": "per_order", "step": "0", "stamps_per_order": "1001", "min_total": "-5",
    "max_stamps_per_order": "x", "goal": "0", "currency": "eur", "reward": "gift",
    "reward_name": "R" * 201, "voucher_valid_days": "3651", "activation_delay_hours": "1.5",
    "lottery_budget": "-1",
}  # fmt: skip
EXPECTED = {
    "pl": [
        "Kwota za pieczątkę (za kwotę): musi być większe niż 0.",
        "Pieczątki za rachunek (za rachunek): może wynosić najwyżej 1 000.",
        "Minimalna kwota rachunku (opcjonalnie): musi wynosić co najmniej 0.",
        "Najwyżej pieczątek na rachunek (opcjonalnie): wpisz liczbę całkowitą.",
        "Pieczątki do nagrody: musi wynosić co najmniej 1.",
        "Waluta: trzy wielkie litery, np. EUR lub PLN.",
        "Nazwa nagrody: najwyżej 200 znaków.",
        "Kupon ważny przez dni: może wynosić najwyżej 3 650.",
    ],
    "uk": [
        "має бути більше ніж 0.",
        "має бути не більше ніж 1 000.",
        "має бути щонайменше 0.",
        "введіть ціле число.",
        "має бути щонайменше 1.",
        "три великі літери, наприклад EUR або PLN.",
        "не більше ніж 200 символів.",
        "не більше ніж 3 650.",
    ],
}


async def _signed_in_form(cloud: Cloud, lang: str) -> str:
    login = await cloud.http.post(
        "/dashboard/login", data={"key": cloud.link["admin_key"]}, allow_redirects=False
    )
    assert login.status == 303
    page = await (await cloud.http.get("/backoffice", headers={"Accept-Language": lang})).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("lang", ["pl", "uk"])
async def test_given_out_of_range_values_when_saved_then_each_error_is_in_the_pages_language(
    cloud: Cloud, lang: str
) -> None:
    """Given the owner's back office in Polish or Ukrainian, when the program form is saved
    with every field out of range or unreadable, then it answers 422 with a sentence under each
    field in that language (its label, its limit) and no English left; nothing is saved."""
    csrf = await _signed_in_form(cloud, lang)
    before = await (await cloud.http.get("/v1/branches", headers=cloud.admin())).json()
    resp = await cloud.http.post(
        f"/backoffice/program/{cloud.link['branch_id']}",
        data={"csrf": csrf, "action": "save", **BAD},
        headers={"Accept-Language": lang},
    )
    html = await resp.text()
    assert resp.status == 422
    shown = html.replace("\xa0", " ")  # numbers are grouped as the language writes them
    for sentence in EXPECTED[lang]:
        assert sentence in shown, sentence
    errors = re.findall(r'<span class="bad" id="p\d+-(\w+)-err">', html)
    assert sorted(errors) == sorted(k for k in BAD if k not in ("rule", "reward")), errors
    assert "should" not in html and "Input" not in html  # pydantic's own words
    assert english_left(html, lang, allowed=("EUR", "PLN", "R" * 201)) == []
    after = await (await cloud.http.get("/v1/branches", headers=cloud.admin())).json()
    assert after == before


class _Odd(BaseModel):
    when: int = Field(multiple_of=5)


@pytest.mark.parametrize("lang", ["pl", "uk"])
def test_given_an_unmapped_error_type_then_a_translated_generic_sentence_with_the_label(
    lang: str,
) -> None:
    """Given an error type no sentence is written for (``multiple_of``), then the message is
    the generic "not accepted" one in the page's language, naming the field's label."""
    with pytest.raises(ValidationError) as err:
        _Odd.model_validate({"when": 7})
    got = form_errors(err.value, {"when": "Etykieta"}, lang)
    assert got == {"when": t("form.err.not_accepted", lang, field="Etykieta")}
    assert got["when"].startswith("Etykieta: ") and "multiple" not in got["when"]


async def test_given_a_batch_of_zero_codes_then_the_problem_is_polish_too(cloud: Cloud) -> None:
    """Given the back office in Polish, when a batch of 0 codes is asked for, then the page
    answers 422 naming the field's label and the limit in Polish, and no batch is made."""
    csrf = await _signed_in_form(cloud, "pl")
    resp = await cloud.http.post(
        "/backoffice/batches",
        data={"csrf": csrf, "count": "0", "kind": "stamps", "stamps": "1"},
        headers={"Accept-Language": "pl"},
    )
    html = await resp.text()
    assert resp.status == 422 and "Ile kodów: musi wynosić co najmniej 1." in html
    assert "should" not in html and "Input" not in html
    batches = await (await cloud.http.get("/v1/vouchers/batch", headers=cloud.admin())).json()
    assert batches["batches"] == []
