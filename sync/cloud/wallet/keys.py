"""The wallet's typed app key."""

from aiohttp import web

from sync.cloud.wallet.service import Wallet

WALLET = web.AppKey("wallet", Wallet)
