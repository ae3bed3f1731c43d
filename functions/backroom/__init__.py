"""The back room: every operation a merchant runs on orders, returns, invoices, stock
and suppliers, typed and in one place, calling only the store contract, the payments
boundary and the outbox.

The ``comptoir`` command (``comptoir/commands/``) is its first surface and only parses
and prints; a web back office will be its second. Nothing here reads files or the
environment: ``BackRoom`` is handed its collaborators.

One module per concern (``orders``, ``returns``, ``invoices``, ``stock``, ``suppliers``);
each raises ``OperationError`` (a clear message, for a merchant) for what cannot be done.
"""

from functions.backroom.context import BackRoom, OperationError

__all__ = ["BackRoom", "OperationError"]
