"""Notebook 01's self-check: each answer is checked against what the guest and the command line really do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from earlyexit_tutorial import check_answers
from earlyexit_tutorial.aids.selfcheck import check_answer, question

from .helpers import cli

RIGHT = {1: "ExitedEarly", 2: 9, 3: "OtherError", 4: -2147483648, 5: 1}
BLANKS = {number: ... for number in RIGHT}
NB01 = Path(__file__).resolve().parents[1] / "notebooks" / "01-early-exit.ipynb"


@pytest.mark.parametrize("number", sorted(RIGHT))
def test_a_right_answer_is_called_correct(number):
    assert check_answer(number, RIGHT[number]) == f"Question {number}: correct ({RIGHT[number]!r})."


@pytest.mark.parametrize("number, wrong", [(1, "Returned"), (2, 20), (3, "Failed"), (4, 2147483648), (5, 0)])
def test_a_wrong_answer_is_called_not_quite(number, wrong):
    assert check_answer(number, wrong).startswith(f"Question {number}: not quite: you said {wrong!r}.")


def test_true_is_not_taken_for_the_exit_status_1():
    assert check_answer(5, True).startswith("Question 5: not quite")


def test_a_number_in_quotes_gets_a_hint_to_drop_them():
    assert check_answer(2, "9").endswith("The answer is a number, written without quotes.")


def test_a_blank_is_called_not_answered_yet():
    assert check_answer(3, ...) == (
        "Question 3: not answered yet: replace the ... with your answer and run the cell again."
    )


def test_the_exit_status_question_agrees_with_the_real_command_line():
    status = cli("--host", "return").returncode
    assert "--host return" in question(5)
    assert check_answer(5, status).startswith("Question 5: correct")


def test_an_unknown_question_lists_the_real_ones():
    assert check_answer(9, 0) == "There is no question 9; the questions are [1, 2, 3, 4, 5]."


def test_all_blanks_say_every_answer_is_still_to_give():
    report = check_answers(BLANKS).splitlines()
    assert report[0] == question(1)
    assert (
        report.count("   Question 1: not answered yet: replace the ... with your answer and run the cell again.") == 1
    )
    assert report[-1] == "0 of 5 right; 5 still to answer: replace each ... with your answer."


def test_all_right_answers_say_so_and_nothing_is_missing():
    report = check_answers(RIGHT).splitlines()
    assert [line for line in report if line.startswith("   ")] == [
        f"   Question {n}: correct ({RIGHT[n]!r})." for n in sorted(RIGHT)
    ]
    assert report[-1] == "5 of 5 right."


def test_a_left_out_question_counts_as_a_blank_and_an_unknown_one_is_named():
    report = check_answers({1: "ExitedEarly", 2: 9, 7: 0})
    assert "   Question 3: not answered yet" in report
    assert "There is no question 7; the questions are [1, 2, 3, 4, 5]." in report
    assert report.endswith("2 of 5 right; 3 still to answer: replace each ... with your answer.")


def test_answers_that_are_not_a_dict_are_a_type_error():
    with pytest.raises(TypeError, match="dict of question number to answer, got list"):
        check_answers(["ExitedEarly"])


def test_the_same_answers_give_the_same_report_every_time():
    assert check_answers({1: "Returned", 2: 9}) == check_answers({1: "Returned", 2: 9})


def test_the_notebook_ships_the_self_check_with_blanks_and_the_answers_folded():
    cells = [c for c in json.loads(NB01.read_text())["cells"] if c["cell_type"] == "code"]
    checks = ["".join(c["source"]) for c in cells if "check_answers(answers)" in "".join(c["source"])]
    assert len(checks) == 1 and checks[0].count(": ...,") == len(RIGHT), checks
    answers = [c for c in cells if "check_answers({" in "".join(c["source"])]
    assert len(answers) == 1
    assert "hide-cell" in answers[0]["metadata"]["tags"]
    assert answers[0]["metadata"]["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert "5 of 5 right." in "".join(answers[0]["outputs"][0]["text"])
