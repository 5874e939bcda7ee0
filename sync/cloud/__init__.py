"""The cloud store: tenants and keys, the stamp ledger, receipt-QR claims, rewards, figures."""
