"""``comptoir customers …``: who buys (lists, segments, consented mailing lists) and what
is held on them (GDPR: export, forget, purge). One group, its commands from two modules."""

from __future__ import annotations

import argparse
from typing import Any

from comptoir.commands import customer_lists, customer_privacy


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "customers", help="customers: lists, segments, mailing lists, GDPR export and erasure"
    )
    sub = group.add_subparsers(dest="customers_command", metavar="COMMAND", required=True)
    customer_lists.add_commands(sub, common)  # list, segments, export-marketing
    customer_privacy.add_commands(sub, common)  # export, forget, purge
