"""The merchant's operations as ``comptoir`` subcommands: one module per concern, each
with ``register(commands, common)`` adding its subparsers. They parse arguments, call the
back room (``functions.backroom``) and print (``comptoir.commands.output``); nothing more.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[
    ["argparse._SubParsersAction[argparse.ArgumentParser]", argparse.ArgumentParser], None
]

# Each concern's module adds its register function here, one line each.
REGISTRARS: list[Register] = []

from comptoir.commands import orders  # noqa: E402  (it imports this package's output)

REGISTRARS.append(orders.register)
