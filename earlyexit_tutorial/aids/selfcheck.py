"""The self-check at the end of notebook 01: answers checked by running the guest."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..guide.outcome import Outcome

# What a blank looks like in the notebook: the learner replaces each `...`.
BLANK = ...


def _cli_status(*argv: str) -> int:
    """The exit status of the command line for `argv`, its printing kept out of the notebook."""
    from ..commands.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(list(argv))


def _returned_value(outcome: Outcome) -> int:
    """What the guest returned; with a host that returns, any other outcome is a fault of the tutorial."""
    from ..guide.outcome import Returned

    if not isinstance(outcome, Returned):
        raise AssertionError(f"the guest should have returned, got {outcome}")
    return outcome.value


def _answers() -> dict[int, tuple[str, Callable[[], Any]]]:
    from ..guide.running import Example

    return {
        1: (
            "What does the host see for run(1, 7) when early_exit raises ExitCode(1)?",
            lambda: type(Example().run(1, 7)).__name__,
        ),
        2: (
            "What value does run(4, 5) return when early_exit returns normally?",
            lambda: _returned_value(Example(behaviour="return").run(4, 5)),
        ),
        3: (
            "Which outcome class do you get when early_exit raises a RuntimeError?",
            lambda: type(Example(behaviour="error").run(1, 7)).__name__,
        ),
        4: (
            "What value does run(2147483647, 1) return when early_exit returns normally (i32 wraps)?",
            lambda: _returned_value(Example(behaviour="return").run(2147483647, 1)),
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
    if answer is BLANK:
        return f"Question {number}: not answered yet: replace the ... with your answer and run the cell again."
    text, compute = answers[number]
    truth = compute()
    if answer == truth and not isinstance(answer, bool):  # True == 1, but True is no exit status
        return f"Question {number}: correct ({answer!r})."
    hint = ""
    if isinstance(truth, str) and not isinstance(answer, str):
        hint = " The answer is the class's name, as a string, such as 'Returned'."
    elif isinstance(truth, int) and isinstance(answer, str):
        hint = " The answer is a number, written without quotes."
    return f"Question {number}: not quite: you said {answer!r}. Run the guest and look again.{hint}"


def check_answers(answers: Mapping[int, Any]) -> str:
    """Every self-check question with the verdict on its answer; a missing answer is said to be missing."""
    if not isinstance(answers, Mapping):
        raise TypeError(f"answers must be a dict of question number to answer, got {type(answers).__name__}")
    numbers = sorted(_answers())
    verdicts = {number: check_answer(number, answers.get(number, BLANK)) for number in numbers}
    lines = []
    for number in numbers:
        lines += [question(number), "   " + verdicts[number]]
    unknown = [number for number in answers if number not in verdicts]
    if unknown:
        lines.append(f"There is no question {', '.join(map(repr, unknown))}; the questions are {numbers}.")
    right = sum(verdicts[number].startswith(f"Question {number}: correct") for number in numbers)
    blank = sum(answers.get(number, BLANK) is BLANK for number in numbers)
    summary = f"{right} of {len(numbers)} right"
    if blank:
        summary += f"; {blank} still to answer: replace each ... with your answer"
    return "\n".join(lines + [summary + "."])
