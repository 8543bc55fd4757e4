"""What the guard keeps for each store it has guarded: its engine's Stopper and its gate, in one look-up.

Every guarded call needs both, so they are found together, by the store's id,
rather than in weak dictionaries (each look-up there makes a weak reference,
about 0.3 µs). An entry lives as long as its store: a weak reference to the store
takes it out when the store goes, before its id can be reused. Holding the
Stopper, it keeps the engine's one Stopper (`engine_stopper`) alive, so that
`with guard(store):` finds the same one call after call; the store holds its
engine anyway, so nothing here outlives what it would have.
"""

from __future__ import annotations

import weakref

import wasmtime

from .._support import _epoch_callback
from .._support._epoch_callback import Gate
from . import _calls
from .stopper import Stopper, engine_stopper


class KeptStore:
    """A guarded store's Stopper and gate (None: the fallback, where a stop moves the engine's epoch)."""

    __slots__ = ("stopper", "gate", "store")

    def __init__(self, stopper: Stopper, gate: Gate | None, store: weakref.ref[wasmtime.Store]) -> None:
        self.stopper, self.gate, self.store = stopper, gate, store


_KEPT: dict[int, KeptStore] = {}


def kept_for(store: wasmtime.Store) -> KeptStore:
    """The Stopper and gate of `store`, made on its first guarded call."""
    kept = _KEPT.get(id(store))
    if kept is not None and kept.store() is store:
        return kept
    with _calls.LOCK:  # one gate per store, should two threads guard it first at once
        kept = _KEPT.get(id(store))
        if kept is not None and kept.store() is store:
            return kept
        key = id(store)
        gone = weakref.ref(store, lambda _ref: _forget(key, _ref))
        kept = _KEPT[key] = KeptStore(engine_stopper(store.engine), _epoch_callback.gate_for(store), gone)
        return kept


def _forget(key: int, gone: weakref.ref[wasmtime.Store]) -> None:
    kept = _KEPT.get(key)
    if kept is not None and kept.store is gone:  # not an entry made since for another store
        del _KEPT[key]


def stopper_for(store: wasmtime.Store) -> Stopper:
    """The Stopper of `store`'s engine, kept for as long as the store lives."""
    return kept_for(store).stopper
