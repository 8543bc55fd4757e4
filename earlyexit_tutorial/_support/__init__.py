"""Internals every layer may use.

Value checks, text made printable, compile-error wording, and the typed call's fast path.
"""
