"""What a stopped call gives back: the error a stopped host function raises, and the report of what stopped it."""

from __future__ import annotations

import wasmtime

from . import _calls
from .stopper import Reason


class GuestStopped(wasmtime.Trap, _calls.StoppedFromOutside):
    """Raised inside a host function whose call was stopped, so that the guest cannot run on.

    A `wasmtime.Trap` whose `trap_code` is `TrapCode.INTERRUPT`, as when the stop
    reaches the guest itself: `except wasmtime.Trap` around a guarded call sees a
    deadline or Stop the same way wherever it landed.
    """

    @property
    def trap_code(self) -> wasmtime.TrapCode:
        """Always INTERRUPT: the call was stopped from outside."""
        return wasmtime.TrapCode.INTERRUPT


class StopReport:
    """What stopped a guarded call, with what its outcome needs to say so."""

    __slots__ = ("reason", "error", "timeout", "fuel_consumed")

    def __init__(
        self, reason: Reason, error: BaseException, timeout: float | None = None, fuel_consumed: int | None = None
    ) -> None:
        self.reason = reason
        self.error = error  # the trap or exception the call ended with (a stand-in if it ended normally)
        self.timeout = timeout  # the call's deadline in seconds (None: none), whatever stopped it
        self.fuel_consumed = fuel_consumed  # for FUEL

    def __repr__(self) -> str:
        return f"StopReport({self.reason!r}, timeout={self.timeout!r}, fuel_consumed={self.fuel_consumed!r})"


def stop_report(
    recorded: Reason | None, error: BaseException | None, timeout: float | None, budget: int, store: wasmtime.Store
) -> StopReport | None:
    """What stopped a call on `store` with fuel `budget` (None: nothing did), told by `what_stopped`.

    `recorded` is the reason the guard recorded, `error` what the call ended with (None: it ended normally).
    """
    reason = what_stopped(recorded, error)
    if reason is None:
        return None
    if error is None:  # it finished as it was stopped: still a stopped call, never "returned"
        error = stopped_error(reason) or GuestStopped("the call's fuel budget ran out")
    consumed = budget - store.get_fuel() if reason is Reason.FUEL else None
    return StopReport(reason, error, timeout=timeout, fuel_consumed=consumed)


def stopped_error(reason: Reason | None) -> BaseException | None:
    """What a host function raises in a call stopped for `reason`; None while nothing stopped it (or for fuel)."""
    if reason is None or reason is Reason.FUEL:
        return None
    if reason is Reason.CTRL_C:
        return KeyboardInterrupt()  # as Python's own handler would: a cell's or a script's code may expect it
    return GuestStopped(f"the call was stopped ({reason}) while a host function ran")


def what_stopped(reason: Reason | None, error: BaseException | None) -> Reason | None:
    """Why a call ended, from the reason the guard recorded and the error it ended with; None: nothing stopped it."""
    if reason is not Reason.CTRL_C and isinstance(error, wasmtime.Trap):
        # A keyboard interrupt outranks the rest: the learner pressed it, and the outcome must say so.
        if error.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return Reason.FUEL
        if error.trap_code == wasmtime.TrapCode.INTERRUPT and reason is None:
            return Reason.STOP  # someone moved the engine's epoch by hand
    return reason
