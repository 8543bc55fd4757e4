"""A picture of the unwind: a sequence diagram of one real call to the guest's `run`.

`sequence.py` turns the call's outcome into steps; `drawing.py` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._support.printable import printable
from ..guide.outcome import Outcome
from .drawing import render_svg
from .sequence import EXIT_FN, GUEST, GUIDE_AFTER_CALL, HOST, REST_OF_RUN, involves, sequence


@dataclass(frozen=True)
class CallDiagram:
    """A sequence diagram of one call: SVG for Jupyter, plain text everywhere else."""

    svg: str
    text: str

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def call_diagram(
    outcome: Outcome, x: int, y: int, *, after_call: Sequence[str] | None = GUIDE_AFTER_CALL
) -> CallDiagram:
    """Draw what happened in the call run(x, y) that ended in `outcome`.

    `after_call` names the guest's instructions after `call $early_exit`
    (the guide's guest by default); pass None for a module of your own.
    """
    rest = tuple(printable(step) for step in after_call) if after_call else (REST_OF_RUN,)
    steps = sequence(outcome, f"run({x}, {y})", rest)
    participants = [p for p in (HOST, GUEST, EXIT_FN) if any(involves(step, p) for step in steps)]
    # The message may hold a learner's or an exception's text: one printable line, like every label.
    message = printable(outcome.message)
    lines = [" | ".join(participants)] + [step.text() for step in steps] + [f"=> {message}"]
    text = "\n".join(lines)
    return CallDiagram(svg=render_svg(participants, steps, message, text), text=text)
