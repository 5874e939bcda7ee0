"""The wallet's typed app key, importable without the wallet's libraries (the ``wallet``
extra): a cloud without a ``[wallet.*]`` section never loads them."""

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sync.cloud.wallet.service import Wallet

WALLET: "web.AppKey[Wallet]" = web.AppKey("wallet")
