"""The functions: one ASGI app for /api (checkout, webhooks, stock, orders).

Also its stores and mailers, and the TEST ONLY offline Stripe emulator.
"""
