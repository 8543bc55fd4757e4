"""Notebook 01's self-check: each answer is checked against what the guest and the command line really do."""

from __future__ import annotations

import subprocess
import sys

import pytest

from earlyexit_tutorial.selfcheck import check_answer, question

RIGHT = {1: "ExitedEarly", 2: 9, 3: "OtherError", 4: -2147483648, 5: 1}


@pytest.mark.parametrize("number", sorted(RIGHT))
def test_a_right_answer_is_called_correct(number):
    assert check_answer(number, RIGHT[number]) == f"Question {number}: correct ({RIGHT[number]!r})."


@pytest.mark.parametrize("number, wrong", [(1, "Returned"), (2, 20), (3, "Failed"), (4, 2147483648), (5, 0)])
def test_a_wrong_answer_is_called_not_quite(number, wrong):
    assert check_answer(number, wrong).startswith(f"Question {number}: not quite: you said {wrong!r}.")


def test_the_exit_status_question_agrees_with_the_real_command_line():
    status = subprocess.run(
        [sys.executable, "-m", "earlyexit_tutorial", "--host", "return"], capture_output=True, timeout=60
    ).returncode
    assert "--host return" in question(5)
    assert check_answer(5, status).startswith("Question 5: correct")


def test_an_unknown_question_lists_the_real_ones():
    assert check_answer(9, 0) == "There is no question 9; the questions are [1, 2, 3, 4, 5]."
