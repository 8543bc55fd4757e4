"""The widget panels driven headlessly: set values, click, read the Output."""

from __future__ import annotations

import html

import pytest

from earlyexit_tutorial import Example
from earlyexit_tutorial.aids.widgets import run_panel, stop_panel

from .helpers import ENDLESS_WAT, cli, stdout_of, wait_busy

pytestmark = pytest.mark.usefixtures("close_panels")


@pytest.fixture(scope="module")
def panel():
    return run_panel()


def choose(panel, x, y, code, behaviour):
    panel.x.value, panel.y.value, panel.code.value, panel.behaviour.value = str(x), str(y), str(code), behaviour
    panel.run_button.click()
    return stdout_of(panel.out)


@pytest.mark.parametrize(
    "x, y, code, behaviour",
    [
        (1, 7, 1, "exit"),
        (4, 5, 3, "return"),
        (1, 7, 1, "error"),
        (2147483647, 1, 0, "return"),
        (-2147483648, -1, 4294967295, "return"),
        (-2147483648, 2147483647, 4294967295, "exit"),
        (0, 0, 0, "exit"),
    ],
)
def test_panel_prints_what_the_command_line_prints(panel, x, y, code, behaviour):
    text = choose(panel, x, y, code, behaviour)
    expected = cli("--host", behaviour, "--exit-code", str(code), "--", str(x), str(y)).stdout.splitlines()[-1]
    assert text == expected + "\n"  # one line: each click cleared the previous one


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("x", "2147483648", "x must be in the i32 range -2147483648..2147483647, got 2147483648"),
        ("y", "-2147483649", "y must be in the i32 range -2147483648..2147483647, got -2147483649"),
        ("x", "1.5", "x must be a whole number, got '1.5'"),
        ("y", "", "y must be a whole number, got ''"),
        ("code", "-1", "exit code must be in 0..4294967295, got -1"),
        ("code", "4294967296", "exit code must be in 0..4294967295, got 4294967296"),
    ],
)
def test_out_of_range_values_are_flagged_and_never_sent(field, value, message):
    panel = run_panel()
    panel.run_button.click()
    assert stdout_of(panel.out) == "Exited early with exit code: 1\n"
    getattr(panel, field).value = value
    assert stdout_of(panel.out) == "Exited early with exit code: 1\n"  # the last result stays until Run
    assert html.escape(message) in panel.feedback.value
    assert panel.run_button.disabled
    panel.run_button.click()  # a click from code still arrives: the callback checks again
    assert stdout_of(panel.out) == f"error: {message}\n"
    getattr(panel, field).value = "1"
    assert panel.feedback.value == "" and not panel.run_button.disabled
    panel.run_button.click()
    assert stdout_of(panel.out).startswith("Exited early") or "found" in stdout_of(panel.out)


def test_each_click_replaces_the_previous_result():
    panel = run_panel()
    for _ in range(3):
        panel.run_button.click()
    assert stdout_of(panel.out) == "Exited early with exit code: 1\n"


def test_run_panel_on_a_busy_example_says_so_instead_of_failing_silently():
    # The learner pointed a run panel at the Example a Stop panel is running.
    example = Example(ENDLESS_WAT)
    panel = run_panel(example)
    stopper = stop_panel(example, timeout=5)
    stopper.start_button.click()
    wait_busy(example)
    panel.run_button.click()
    assert stdout_of(panel.out).startswith("error: this Example is already running a call")
    stopper.stop_button.click()
    stopper.thread.join(5)
    assert stdout_of(stopper.out) == "Interrupted: stopped by the Stop button\n", (
        stopper.out.outputs,
        stopper.status.value,
        stopper.thread.is_alive(),
    )


def test_the_fields_send_their_value_on_enter_or_blur_not_per_keystroke():
    # Typing "-5" must not be judged (and flagged red) at "-".
    panel = run_panel()
    assert [field.continuous_update for field in (panel.x, panel.y, panel.code)] == [False, False, False]


@pytest.mark.parametrize(
    "typed",
    ["<img src=x onerror=alert(1)>", "</span><script>alert(1)</script>", '&lt;b&gt; & "quotes"'],
)
def test_feedback_shows_what_was_typed_as_text_not_markup(typed):
    import xml.etree.ElementTree as ET

    panel = run_panel()
    panel.x.value = typed
    feedback = ET.fromstring(panel.feedback.value)  # one element: the message is its text, nothing nested
    assert feedback.tag == "span" and list(feedback) == []
    assert feedback.text == f"x must be a whole number, got {typed!r}"


# Spins for about x * 2 ms, then calls early_exit: long enough for a click to land during the call.
SPIN_THEN_EXIT_WAT = """\
(module
  (import "env" "early_exit" (func $early_exit))
  (func (export "run") (param $x i32) (param $y i32) (result i32)
    (local $n i32)
    (local.set $n (i32.mul (local.get $x) (i32.const 1000000)))
    (loop $spin (br_if $spin (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    call $early_exit
    (i32.add (local.get $x) (local.get $y))))
"""


def test_a_refused_run_click_changes_nothing_in_the_running_call():
    example = Example(SPIN_THEN_EXIT_WAT)  # early_exit exits with code 1
    background = stop_panel(example, x=1000, y=0, timeout=60)
    panel = run_panel(example)
    background.start_button.click()
    wait_busy(example)
    panel.code.value, panel.behaviour.value = "42", "exit"
    panel.run_button.click()
    assert stdout_of(panel.out).startswith("error: this Example is already running a call")
    background.thread.join(60)
    assert not background.thread.is_alive()
    # The running call ends as it began: the refused click did not reach its early_exit.
    assert stdout_of(background.out) == "Exited early with exit code: 1\n"
    assert (example.behaviour.value, example.exit_code) == ("exit", 1)
