"""The guide's steps.

The error type, the host function, the guest, the typed `run`, the outcomes, and the example that joins them.
"""
