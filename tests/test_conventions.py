"""Python's convention at every public entry, and each value checked once, where it belongs.

A value of the wrong type is a TypeError, a value of the right type out of range a ValueError.
"""

from __future__ import annotations

import pytest

from earlyexit_tutorial import Example, ExitCode, ExitedEarly, Returned
from earlyexit_tutorial._support import validation
from earlyexit_tutorial._support.validation import parse_int
from earlyexit_tutorial.aids.wasi_exit import wasi_exit
from earlyexit_tutorial.aids.widgets import run_panel, stop_panel
from earlyexit_tutorial.guide import exit_code


@pytest.fixture(autouse=True, scope="module")
def close_panels():
    """Close this module's panels at its end: ipywidgets keeps every open widget, and a panel its Example."""
    yield
    import ipywidgets

    ipywidgets.Widget.close_all()


class Counted:
    """An integer type (as numpy's int32 is) that counts how often it is read as an int."""

    def __init__(self, value: int) -> None:
        self.value, self.reads = value, 0

    def __index__(self) -> int:
        self.reads += 1
        return self.value


# --- the convention ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Example(exit_code=1.5), "^exit code must be an integer, got float 1.5$"),
        (lambda: ExitCode("3"), "^exit code must be an integer, got str '3'$"),
        (lambda: wasi_exit(1.5), "^a WASI exit status must be an integer, got float 1.5$"),
        (lambda: wasi_exit(True), "^a WASI exit status must be an integer, got bool True$"),
    ],
    ids=["Example exit_code", "ExitCode", "wasi_exit float", "wasi_exit bool"],
)
def test_a_number_of_the_wrong_type_is_one_type_error_worded_alike_everywhere(make, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: wasi_exit(126), r"^a WASI exit status must be in 0\.\.125, got 126$"),
        (lambda: wasi_exit(-1), r"^a WASI exit status must be in 0\.\.125, got -1$"),
    ],
    ids=["wasi 126", "wasi -1"],
)
def test_a_wasi_status_out_of_range_is_a_value_error(make, message: str) -> None:
    # Example.run, ExitCode and Example(exit_code=...) are held to this in test_bad_input.py.
    with pytest.raises(ValueError, match=message):
        make()


def test_wasi_exit_takes_any_integer_type() -> None:
    assert wasi_exit(Counted(3)).code == 3


@pytest.mark.parametrize("behaviour", [5, None, b"exit"], ids=repr)
def test_a_behaviour_that_is_not_text_is_a_type_error(behaviour: object) -> None:
    with pytest.raises(TypeError, match=r"^host behaviour must be one of 'exit', 'return', 'error', got "):
        Example(behaviour=behaviour)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^host behaviour must be one of"):
        Example(behaviour="exits")


@pytest.mark.parametrize("example", ["not an Example", 42], ids=repr)
def test_a_panel_for_something_that_is_not_an_example_is_a_type_error(example: object) -> None:
    with pytest.raises(TypeError, match=f"^example must be an Example, got {type(example).__name__}$"):
        run_panel(example)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"^example must be an Example, got {type(example).__name__}$"):
        stop_panel(example)  # type: ignore[arg-type]


def test_stop_panel_arguments_follow_the_convention() -> None:
    example = Example()
    with pytest.raises(TypeError, match="^x must be an integer, got float 1.5$"):
        stop_panel(example, x=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^y must be in the i32 range .*, got 2147483648$"):
        stop_panel(example, y=2**31)
    with pytest.raises(TypeError):
        stop_panel(None)  # type: ignore[arg-type]


def test_parsing_something_that_is_not_text_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="^x must be text, got NoneType$"):
        parse_int("x", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^x must be a whole number, got '1.5'$"):
        parse_int("x", "1.5")


# --- checked once ----------------------------------------------------------------------------


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The names every integer check is made for, in order (check_i32 and ExitCode go through check_int)."""
    seen: list[str] = []
    real = validation.check_int

    def counting(name, value, *args, **kwargs):
        seen.append(name)
        return real(name, value, *args, **kwargs)

    monkeypatch.setattr(validation, "check_int", counting)
    monkeypatch.setattr(exit_code, "check_int", counting)
    return seen


def test_run_checks_x_and_y_once_each(checks: list[str]) -> None:
    example = Example(behaviour="return")
    checks.clear()
    assert example.run(1, 7) == Returned(8)
    assert checks == ["x", "y"]


def test_a_run_click_checks_x_y_and_the_code_once_each(checks: list[str]) -> None:
    panel = run_panel(Example())
    panel.x.value, panel.y.value, panel.code.value, panel.behaviour.value = "2", "3", "4", "return"
    checks.clear()  # the fields' own feedback checked them as they changed; now the click alone
    panel.run_button.click()
    assert checks == ["x", "y", "exit code"]


def test_the_exit_code_is_read_once_when_an_example_is_set_up() -> None:
    code = Counted(3)
    example = Example(exit_code=code)
    assert code.reads == 1
    assert example.run(1, 7) == ExitedEarly(ExitCode(3)) and example.run(1, 7) == ExitedEarly(ExitCode(3))
    assert code.reads == 1 and type(example.exit_code) is int  # kept as the checked int, not re-read per exit
