"""The Google Wallet REST API: an OAuth access token for the service account (a JWT bearer
grant, kept until shortly before it expires), then ``PATCH loyaltyObject/{id}``."""

import logging
import time
from typing import Any, Literal

import aiohttp
import jwt

from config.cloud import GoogleWalletSection
from sync.cloud.wallet.credentials import GoogleCredentials

log = logging.getLogger(__name__)

Outcome = Literal["sent", "missing", "retry"]
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"


class GoogleWalletApi:
    """Patches loyalty objects; one HTTP session."""

    def __init__(self, section: GoogleWalletSection, creds: GoogleCredentials) -> None:
        self._section = section
        self._creds = creds
        self._session: aiohttp.ClientSession | None = None
        self._token: tuple[float, str] | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._session

    async def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token[0]:
            return self._token[1]
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": self._creds.client_email,
                "scope": SCOPE,
                "aud": self._creds.token_uri,
                "iat": now,
                "exp": now + 3600,
            },
            self._creds.key,
            algorithm="RS256",
            headers={"kid": self._creds.key_id} if self._creds.key_id else None,
        )
        async with self._http().post(
            self._creds.token_uri,
            data={"grant_type": GRANT, "assertion": assertion},
        ) as resp:
            body: dict[str, Any] = await resp.json(content_type=None)
            if resp.status != 200 or "access_token" not in body:
                raise aiohttp.ClientResponseError(
                    resp.request_info, (), status=resp.status, message="no access token"
                )
        life = float(body.get("expires_in", 3600))
        self._token = (time.monotonic() + max(0.0, life - 60), str(body["access_token"]))
        return self._token[1]

    async def patch(self, object_id: str, body: dict[str, Any]) -> Outcome:
        """Patch one loyalty object; ``missing`` if the customer never saved it."""
        try:
            token = await self._access_token()
            async with self._http().patch(
                f"{self._section.api_base}/loyaltyObject/{object_id}",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                if resp.status == 404:
                    return "missing"
                if resp.status == 401:
                    self._token = None
                if resp.status >= 300:
                    log.warning("Google Wallet answered %s for %s", resp.status, object_id)
                    return "retry"
                return "sent"
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("Google Wallet patch failed: %s", err)
            return "retry"

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
