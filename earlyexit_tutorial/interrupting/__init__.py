"""The guard: stopping a guest from outside, by deadline, fuel budget, Stop or Ctrl-C, around every call into wasm."""
