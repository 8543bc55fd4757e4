"""The guide's steps: the error type, the host function, the guest, the typed `run`, the outcomes, and the example that joins them."""
