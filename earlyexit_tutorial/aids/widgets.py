"""Widgets: a panel to choose the arguments and the host's behaviour, and a Stop button."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable

import ipywidgets

from .._support.validation import I32_MAX, I32_MIN, check_i32, parse_int
from ..guide.exit_code import U32_MAX, ExitCode
from ..guide.host import HostBehaviour
from ..guide.outcome import Outcome
from ..guide.running import Example, ExampleBusy
from ..interrupting.guard import DEFAULT_TIMEOUT, check_limits
from .diagram import call_diagram

BEHAVIOURS = [
    ("exit early with the code", HostBehaviour.EXIT.value),
    ("return normally", HostBehaviour.RETURN.value),
    ("raise another error", HostBehaviour.ERROR.value),
]

_ERROR_STYLE = "color: var(--jp-error-color1, #c62828)"


def read_choices(x: str, y: str, code: str) -> tuple[int, int, int]:
    """Turn the panel's texts into (x, y, exit code) as ints, or raise a clear ValueError; ranges are not checked."""
    return parse_int("x", x), parse_int("y", y), parse_int("exit code", code)


def check_choices(x: str, y: str, code: str) -> None:
    """Raise a clear ValueError unless the panel's texts are a valid x, y and exit code."""
    x_value, y_value, code_value = read_choices(x, y, code)
    # The same checkers the Example's call uses: a field is flagged as the Run click would refuse it.
    check_i32("x", x_value)
    check_i32("y", y_value)
    ExitCode(code_value)


def _check_example(example: object) -> None:
    if not isinstance(example, Example):
        raise TypeError(f"example must be an Example, got {type(example).__name__}")


def show_outcome(out: ipywidgets.Output, outcome: Outcome, x: int, y: int) -> None:
    """Write an outcome's message into an Output widget, with the call's diagram if available."""
    out.append_stdout(outcome.message + "\n")
    out.append_display_data(call_diagram(outcome, x, y))


def run_panel(example: Example | None = None) -> ipywidgets.VBox:
    """A panel to pick x, y, the exit code and the host's behaviour, then run the guest."""
    if example is None:
        example = Example()
    _check_example(example)
    # continuous_update=False: a value arrives on Enter or when the field loses focus, so
    # typing "-5" is not judged at "-".
    x = ipywidgets.Text(value="1", description="x", placeholder=f"{I32_MIN}..{I32_MAX}", continuous_update=False)
    y = ipywidgets.Text(value="7", description="y", placeholder=f"{I32_MIN}..{I32_MAX}", continuous_update=False)
    code = ipywidgets.Text(value="1", description="exit code", placeholder=f"0..{U32_MAX}", continuous_update=False)
    behaviour = ipywidgets.Dropdown(options=BEHAVIOURS, value=HostBehaviour.EXIT.value, description="early_exit")
    run = ipywidgets.Button(description="Run", button_style="primary", icon="play")
    feedback = ipywidgets.HTML(value="")
    out = ipywidgets.Output(layout=ipywidgets.Layout(min_height="2em"))

    def validate(_change: object = None) -> bool:
        try:
            check_choices(x.value, y.value, code.value)
        except ValueError as error:
            # The message quotes what the learner typed: text, never markup.
            feedback.value = f'<span style="{_ERROR_STYLE}">{html.escape(str(error))}</span>'
            run.disabled = True  # the last result stays until Run: the message above says it is not for these values
            return False
        feedback.value = ""
        run.disabled = False
        return True

    def on_run(_button: object) -> None:
        out.outputs = ()  # clear the previous result (works with or without a front end)
        try:
            xv, yv, cv = read_choices(x.value, y.value, code.value)
            # One step: while the same Example runs elsewhere (a Stop panel, say), the
            # click is refused before it changes the host's behaviour or exit code.
            outcome = example._run_with_host(xv, yv, behaviour.value, cv)
        except (ValueError, ExampleBusy) as error:  # a value out of range, or the Example running elsewhere
            out.append_stdout(f"error: {error}\n")
            return
        show_outcome(out, outcome, xv, yv)

    for field in (x, y, code):
        field.observe(validate, names="value")
    run.on_click(on_run)
    panel = ipywidgets.VBox([ipywidgets.HBox([x, y]), ipywidgets.HBox([code, behaviour]), feedback, run, out])
    # Handles for tests and for curious learners.
    panel.example, panel.x, panel.y, panel.code = example, x, y, code
    panel.behaviour, panel.run_button, panel.feedback, panel.out = behaviour, run, feedback, out
    return panel


def stop_panel(example: Example, x: int = 0, y: int = 0, timeout: float | None = DEFAULT_TIMEOUT) -> ipywidgets.VBox:
    """A Start and a Stop button: run the guest in the background and stop it on demand."""
    _check_example(example)
    x, y = check_i32("x", x), check_i32("y", y)  # refused now, not at the first Start
    timeout = check_limits(timeout, None)[0]  # refused now, not at the first Start
    start = ipywidgets.Button(description="Start", button_style="primary", icon="play")
    stop = ipywidgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
    status = ipywidgets.Label(value="idle")
    out = ipywidgets.Output(layout=ipywidgets.Layout(min_height="2em"))
    panel = ipywidgets.VBox([ipywidgets.HBox([start, stop, status]), out])
    panel.thread = None
    # The buttons and the label change only under this lock, and the worker has
    # the last word when its call ends: a Stop pressed as the guest finishes
    # cannot leave "stopping..." behind for a call that is over.
    state = threading.Lock()
    running = [False]

    def work() -> None:
        try:
            out.append_stdout(example._run_checked(x, y, timeout=timeout).message + "\n")
        except Exception as error:  # never leave the buttons stuck on "running"
            out.append_stdout(f"error: {error}\n")
        finally:
            with state:
                running[0] = False
                status.value = "idle"
                start.disabled, stop.disabled = False, True

    def on_start(_button: object) -> None:
        with state:
            if running[0]:
                return  # one guest at a time: a store is used by one thread only
            if example.busy:  # running elsewhere: say so before this panel changes anything
                out.outputs = ()
                out.append_stdout("error: this Example is already running a call; wait for it to finish or stop it\n")
                return
            running[0] = True
            example._announce()  # a Stop pressed before the background call begins is kept for it
            out.outputs = ()  # clear the previous result (works with or without a front end)
            status.value = "running (no deadline)" if timeout is None else f"running (deadline {timeout:g} s)"
            start.disabled, stop.disabled = True, False
        # The cell must finish so the kernel can hear the Stop click.
        panel.thread = threading.Thread(target=work, name="earlyexit-stop-panel", daemon=True)
        panel.thread.start()

    def on_stop(_button: object) -> None:
        with state:
            if not running[0]:
                return  # the call is already over: nothing to stop, the label already says so
            status.value = "stopping..."
            example.stop()

    start.on_click(_showing_errors(on_start, out))
    stop.on_click(_showing_errors(on_stop, out))
    panel.example, panel.start_button, panel.stop_button, panel.status, panel.out = example, start, stop, status, out
    return panel


def _showing_errors(handler: Callable[[object], None], out: ipywidgets.Output) -> Callable[[object], None]:
    """`handler`, with any exception it raises written into `out` (ipywidgets would swallow it)."""

    def on_click(button: object) -> None:
        try:
            handler(button)
        except Exception as error:  # shown to the learner instead of lost
            out.append_stdout(f"error: {type(error).__name__}: {error}\n")

    return on_click
