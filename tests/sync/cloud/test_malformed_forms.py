"""A form body that cannot be read answers 422 JSON, never 500 (issue #14; found by fuzzing
the cloud's pages once the OpenAPI document named them): a multipart body without its parts,
or a charset Python does not know, on every form of the cloud."""

import pytest

from tests.sync.cloud.conftest import Cloud

BAD = [
    ("multipart/form-data", b"csrf=&key="),
    ("multipart/form-data; boundary=x", b"csrf=&key="),
    ("application/x-www-form-urlencoded; charset=bogus", b"csrf=&key="),
]
FORMS = ["/dashboard/login", "/dashboard/logout"]  # both read the form before anything else


@pytest.mark.parametrize("content_type,body", BAD)
async def test_given_an_unreadable_form_then_422_malformed_form_not_500(
    cloud: Cloud, content_type: str, body: bytes
) -> None:
    for path in FORMS:
        resp = await cloud.http.post(
            path, data=body, headers={"Content-Type": content_type}, allow_redirects=False
        )
        assert resp.status == 422, (path, resp.status, await resp.text())
        assert (await resp.json())["error"]["code"] == "malformed_form"
