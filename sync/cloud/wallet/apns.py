"""APNs over HTTP/2: tell a device that a pass changed (topic the pass type, payload ``{}``).

HTTP/2 is what APNs speaks (it refuses HTTP/1.1); ``h2_client.py`` multiplexes many pushes
over one TLS connection. Authentication is
the Pass Type ID certificate on the TLS connection, or a provider token (ES256 JWT from a
``.p8`` key, renewed every 40 minutes as Apple asks: not more than once per 20, within an hour).
"""

import contextlib
import json
import logging
import ssl
import time
from typing import Literal

import jwt

from config.cloud import AppleWalletSection
from sync.cloud.wallet.credentials import AppleCredentials
from sync.cloud.wallet.h2_client import H2Client, H2Error

log = logging.getLogger(__name__)

Outcome = Literal["sent", "unregistered", "retry"]
TOKEN_LIFE_S = 40 * 60
# APNs's reasons that mean this device token will never work again for this topic
_GONE = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered", "ExpiredToken"}


class ApnsClient:
    """One HTTP/2 connection to APNs (opened on first push, kept)."""

    def __init__(self, section: AppleWalletSection, creds: AppleCredentials) -> None:
        self._section = section
        self._creds = creds
        ctx = ssl.create_default_context()
        if creds.apns_ca is not None:
            ctx.load_verify_locations(cafile=str(creds.apns_ca))
        if section.apns_auth == "certificate":
            ctx.load_cert_chain(
                str(creds.cert_path), str(creds.key_path), creds.key_password or None
            )
        self._client = H2Client(section.apns_url, ctx)
        self._jwt: tuple[float, str] | None = None

    def _provider_token(self) -> str:
        made = self._jwt
        if made is not None and time.monotonic() - made[0] < TOKEN_LIFE_S:
            return made[1]
        assert self._creds.apns_key is not None
        token = jwt.encode(
            {"iss": self._section.team_id, "iat": int(time.time())},
            self._creds.apns_key,
            algorithm="ES256",
            headers={"kid": self._section.apns_key_id},
        )
        self._jwt = (time.monotonic(), token)
        return token

    async def push(self, device_token: str) -> Outcome:
        """Push an empty notification for the pass type to one device."""
        headers = {"apns-topic": self._section.pass_type_id, "apns-priority": "10"}
        if self._section.apns_auth == "token":
            headers["authorization"] = f"bearer {self._provider_token()}"
        path = f"/3/device/{device_token}"
        answer: tuple[int, bytes] | None = None
        for attempt in range(2):  # APNs may close a connection (GOAWAY): once more on a new one
            try:
                answer = await self._client.post(path, headers, b"{}")
                break
            except H2Error as err:
                if attempt:
                    log.warning("APNs push failed: %s", err)
        if answer is None:
            return "retry"
        status, body = answer
        if status == 200:
            return "sent"
        reason = ""
        with contextlib.suppress(ValueError, AttributeError):
            reason = str(json.loads(body).get("reason", ""))
        if status == 410 or reason in _GONE:
            return "unregistered"
        if status == 403 and reason == "ExpiredProviderToken":
            self._jwt = None
        log.warning("APNs answered %s %s", status, reason)
        return "retry"

    async def close(self) -> None:
        """Close the connection."""
        await self._client.close()
