"""The composition root: the ``comptoir`` command, ``comptoir serve`` and the local wiring.

The only package that imports both ``generator`` (content -> site + published shop)
and ``functions`` (the ASGI app), and the only one besides the tests that may
import the TEST ONLY ``stripe_emulator``.
"""
