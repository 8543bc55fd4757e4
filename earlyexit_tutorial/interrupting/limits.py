"""The limits of a guarded call: its deadline and its fuel budget, their defaults and their checks."""

from __future__ import annotations

import math
import numbers
import operator

from .._support.validation import shown

# Every call the tutorial makes for the learner has a deadline, so no cell and
# no widget can hang the kernel, even with a guest that loops forever.
DEFAULT_TIMEOUT = 10.0

# "No fuel budget": the engine counts fuel for every store, so give plenty.
UNLIMITED_FUEL = 2**63 - 1


def check_limits(timeout: object, fuel: object) -> tuple[float | None, int]:
    """Check a deadline and a fuel budget; return them as seconds (None: no deadline) and a budget."""
    # The usual call, a plain number of seconds and no budget, answered at once:
    # every guarded call is checked, and the ABC test below costs more than the rest.
    kind = type(timeout)
    if fuel is None and (kind is float or kind is int) and 0 < timeout < _PLAIN_SECONDS:  # type: ignore[operator]
        return float(timeout), UNLIMITED_FUEL  # type: ignore[arg-type]
    return _check_timeout(timeout), _check_fuel(fuel)


# Below this, a float or an int of seconds is a deadline as it is (nan and inf are not below it).
_PLAIN_SECONDS = 1e300


def _check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
    try:
        seconds = float(timeout)
    except OverflowError:  # an int too large for a float, e.g. 10**400
        seconds = -math.inf if timeout < 0 else math.inf
    if not seconds > 0:  # also refuses nan
        raise ValueError(f"timeout must be a positive number of seconds, got {shown(timeout)}")
    return None if seconds == math.inf else seconds  # longer than any run: no deadline


def _check_fuel(fuel: object) -> int:
    if fuel is None:
        return UNLIMITED_FUEL
    if isinstance(fuel, bool):
        raise TypeError(f"fuel must be an integer or None, got {fuel!r}")
    try:
        budget = operator.index(fuel)  # type: ignore[arg-type]  # any object: index() is the check, refusing the wrong ones
    except TypeError:
        raise TypeError(f"fuel must be an integer or None, got {fuel!r}") from None
    if not 0 <= budget <= UNLIMITED_FUEL:
        raise ValueError(f"fuel must be an integer in 0..{UNLIMITED_FUEL}, got {shown(budget)}")
    return budget
