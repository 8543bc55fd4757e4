"""The self-check at the end of notebook 01: answers checked by running the guest."""

from __future__ import annotations

import contextlib
import io
from typing import Any, Callable


def _cli_status(*argv: str) -> int:
    """The exit status of the command line for `argv`, its printing kept out of the notebook."""
    from .cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


def _answers() -> dict[int, tuple[str, Callable[[], Any]]]:
    from .running import Example

    return {
        1: ("What does the host see for run(1, 7) when early_exit raises ExitCode(1)?", lambda: type(Example().run(1, 7)).__name__),
        2: (
            "What value does run(4, 5) return when early_exit returns normally?",
            lambda: Example(behaviour="return").run(4, 5).value,
        ),
        3: (
            "Which outcome class do you get when early_exit raises a RuntimeError?",
            lambda: type(Example(behaviour="error").run(1, 7)).__name__,
        ),
        4: (
            "What value does run(2147483647, 1) return when early_exit returns normally (i32 wraps)?",
            lambda: Example(behaviour="return").run(2147483647, 1).value,
        ),
        5: (
            "With which status does `python -m earlyexit_tutorial --host return` exit?",
            lambda: _cli_status("--host", "return"),
        ),
    }


def question(number: int) -> str:
    """The text of a self-check question."""
    return _answers()[number][0]


def check_answer(number: int, answer: Any) -> str:
    """Say whether an answer to a self-check question is right, by running the guest."""
    answers = _answers()
    if number not in answers:
        return f"There is no question {number}; the questions are {sorted(answers)}."
    text, compute = answers[number]
    truth = compute()
    if answer == truth:
        return f"Question {number}: correct ({answer!r})."
    return f"Question {number}: not quite: you said {answer!r}. Run the guest and look again."
