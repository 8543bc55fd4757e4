"""Internals every layer may use: value checks, text made printable, compile-error wording, and the typed call's fast path."""
