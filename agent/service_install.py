"""``stampedge service install|uninstall``: systemd units and udev rules (being built)."""

import argparse

from config import ConfigError


def main(args: argparse.Namespace) -> int:
    """Not built yet: says so in one line."""
    raise ConfigError(f"service {args.action}: not available yet")
