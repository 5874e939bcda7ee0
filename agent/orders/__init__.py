"""Checks from the POS: the body, the stamps, the receipt-QR token, one durable write per check."""
