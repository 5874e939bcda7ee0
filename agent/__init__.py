"""The edge agent: the POS's local HTTP API, stamping rules, receipt-QR tokens, orchestration."""
