"""The functions: one ASGI app for /api (checkout, webhooks, stock, orders), its stores and mailers."""
