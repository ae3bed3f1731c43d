"""Part of ``comptoir customers`` (see customers.py)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's ``customers`` subcommands to ``sub``."""
