"""The merchant's operations as ``comptoir`` subcommands: one module per concern, each
with ``register(commands, common)`` adding its subparsers. They parse arguments, call the
back room (``functions.backroom``) and print (``comptoir.commands.output``); nothing more.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from comptoir.commands import customers, export, invoices, orders, report, returns, stock

# (the subparsers of `comptoir`, the parser of the options every command takes: --shop)
Register = Callable[[Any, argparse.ArgumentParser], None]

# Each concern's module adds its register function here, one line each.
REGISTRARS: list[Register] = [
    orders.register,
    returns.register,
    invoices.register,
    stock.register,
    customers.register,
    report.register,
    export.register,
]
