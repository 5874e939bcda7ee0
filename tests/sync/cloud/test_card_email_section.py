"""The card page's email section once the address is verified: it shows the address (as the
consent section does) and a folded form to change it, not the empty "give your email" form; the
change goes through a link mailed to the new address (real SMTP server, both backends)."""

import re

import aiohttp
import pytest

from sync.web.texts import t
from tests.pages.languages import english_left
from tests.sync.cloud.mail_sink import Mailed, link_in, mailed, smtp
from tests.sync.cloud.mail_sink import claim_on as _claim_on
from tests.sync.cloud.mail_sink import phone as _phone

__all__ = ["mailed", "smtp"]


async def _verify(phone: aiohttp.ClientSession, m: Mailed, email: str, n: int) -> None:
    """Give ``email`` on this phone's card page and open the link mailed to it (``n``-th mail)."""
    asked = await phone.post(m.url("/card/email"), data={"email": email})
    assert asked.status == 200, await asked.text()
    msg = (await m.smtp.sink.wait_for(n))[n - 1]
    assert msg["To"] == email
    done = await phone.post(m.url(link_in(msg)), allow_redirects=False)
    assert done.status == 303, await done.text()


async def _card_section(phone: aiohttp.ClientSession, m: Mailed, lang: str) -> str:
    """The email section of this phone's card page, asked for in ``lang``."""
    resp = await phone.get(m.url("/card"), headers={"Accept-Language": lang})
    return _email_section(await resp.text())


def _email_section(html: str) -> str:
    found = re.search(r'<section class="card" id="email">.*?</section>', html, re.S)
    assert found is not None, "the card page has no email section"
    return found.group(0)


@pytest.mark.parametrize("lang", ["pl", "de"])
async def test_given_a_verified_email_then_the_card_page_shows_it_and_offers_to_change_it(
    mailed: Mailed, lang: str
) -> None:
    """Given a card whose email was verified through its link, when the card page is opened in
    Polish or German, then the email section shows the address and a "change" option holding
    the form (in that language, no English), not the "give your email" hint; and a new address
    given there replaces the old one once its own link is opened."""
    async with _phone() as phone:
        code = await _claim_on(phone, mailed, f"EM-{lang}", 2)
        before = await _card_section(phone, mailed, lang)
        assert t("email.hint", lang) in before and 'id="email-current"' not in before
        await _verify(phone, mailed, "ann@example.com", 1)
        section = await _card_section(phone, mailed, lang)
        assert t("email.verified", lang, email="ann@example.com") in section
        assert f"<summary>{t('email.change', lang)}</summary>" in section
        assert t("email.change_hint", lang) in section and 'id="email-address"' in section
        assert t("email.hint", lang) not in section
        assert english_left(section, lang, allowed=("ann@example.com",)) == []
        await _verify(phone, mailed, "new@example.com", 2)
        assert (await mailed.card(code))["email"] == "new@example.com"
        section = await _card_section(phone, mailed, lang)
        assert "new@example.com" in section and "ann@example.com" not in section
