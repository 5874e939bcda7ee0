"""The pairing book on a real agent database: codes expire, burn after wrong tries, pair once."""

from pathlib import Path

import pytest

from agent.db import open_agent_db
from agent.pages.pairing import CODE_TTL_S, MAX_TRIES, PairingBook, PairingRefused, clean_name


async def test_given_an_expired_code_then_it_pairs_nothing(tmp_data: Path) -> None:
    db = await open_agent_db(tmp_data / "agent.db")
    try:
        book = PairingBook(db)
        code = book.open_code("kiosk", now=1000.0)
        assert len(code.code) == 6 and code.code.isdigit()
        with pytest.raises(PairingRefused) as err:
            await book.pair(code.code, "", now=1000.0 + CODE_TTL_S + 1)
        assert err.value.code == "no_code"
    finally:
        await db.close()


async def test_given_a_code_with_spaces_then_it_pairs_once_and_the_session_survives_a_restart(
    tmp_data: Path,
) -> None:
    db = await open_agent_db(tmp_data / "agent.db")
    try:
        book = PairingBook(db)
        code = book.open_code("staff", now=10.0)
        session, token = await book.pair(f" {code.code[:3]} {code.code[3:]} ", "", now=20.0)
        assert session.role == "staff" and session.name == "Staff 1"
        with pytest.raises(PairingRefused):
            await book.pair(code.code, "", now=21.0)
        await book.revoke(session.session_id, now=30.0)
    finally:
        await db.close()
    db = await open_agent_db(tmp_data / "agent.db")
    try:
        again = PairingBook(db)
        await again.load()
        found = again.find(token)
        assert found is not None and found.revoked_at == 30.0
        assert again.find("another-token") is None
    finally:
        await db.close()


async def test_given_wrong_guesses_then_the_code_burns(tmp_data: Path) -> None:
    db = await open_agent_db(tmp_data / "agent.db")
    try:
        book = PairingBook(db)
        code = book.open_code("kiosk", now=0.0)
        wrong = "000000" if code.code != "000000" else "111111"
        for _ in range(MAX_TRIES):
            with pytest.raises(PairingRefused):
                await book.pair(wrong, "", now=1.0)
        assert book.current_code(now=1.0) is None
    finally:
        await db.close()


def test_device_names_are_printable_and_short() -> None:
    assert clean_name("  Door\x00 tablet\n ", "kiosk", 0) == "Door tablet"
    assert clean_name("", "kiosk", 2) == "Kiosk 3"
    assert len(clean_name("x" * 500, "staff", 0)) == 60
