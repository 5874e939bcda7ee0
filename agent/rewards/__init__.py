"""Rewards at the till: what a check earned (the cloud's answer), redeeming, quotes, the POS
webhook."""
