"""The Stop panel: any timeout it accepts works, a bad one is refused at once, and its label ends true."""

from __future__ import annotations

import math
import threading
import time

import pytest

from earlyexit_tutorial import Example
from earlyexit_tutorial.aids.widgets import stop_panel

from .conftest import ENDLESS_WAT


@pytest.fixture(autouse=True, scope="module")
def close_panels():
    """Close this module's panels at its end: ipywidgets keeps every open widget, and a panel its Example."""
    yield
    import ipywidgets

    ipywidgets.Widget.close_all()


def stdout_of(out) -> str:
    return "".join(o.get("text", "") for o in out.outputs if o.get("output_type") == "stream")


def wait_idle(panel, within: float = 10.0) -> None:
    thread = panel.thread
    if thread is not None:
        thread.join(within)
        assert not thread.is_alive(), "the background call did not end"


def test_no_deadline_is_supported_and_stop_ends_it() -> None:
    panel = stop_panel(Example(ENDLESS_WAT), timeout=None)
    panel.start_button.click()
    assert panel.status.value == "running (no deadline)"
    time.sleep(0.1)
    assert panel.thread.is_alive()
    panel.stop_button.click()
    wait_idle(panel)
    assert stdout_of(panel.out) == "Interrupted: stopped by the Stop button\n"
    assert panel.status.value == "idle"


@pytest.mark.parametrize(
    "timeout, error",
    [(0, ValueError), (-1, ValueError), (math.nan, ValueError), ("5", TypeError), (True, TypeError)],
    ids=["0", "-1", "nan", "text", "True"],
)
def test_a_bad_timeout_is_refused_when_the_panel_is_made(timeout: object, error: type) -> None:
    with pytest.raises(error, match="^timeout "):
        stop_panel(Example(), timeout=timeout)  # type: ignore[arg-type]


def test_a_timeout_too_large_for_a_float_means_no_deadline_in_the_panel() -> None:
    panel = stop_panel(Example(ENDLESS_WAT), timeout=10**309)
    panel.start_button.click()
    assert panel.status.value == "running (no deadline)"
    time.sleep(0.1)
    panel.stop_button.click()
    wait_idle(panel)
    assert stdout_of(panel.out) == "Interrupted: stopped by the Stop button\n"


def test_an_error_in_a_click_handler_is_shown_in_the_panel(monkeypatch) -> None:
    example = Example()
    panel = stop_panel(example)

    def broken() -> None:
        raise RuntimeError("the stopper is broken")

    monkeypatch.setattr(example.stopper, "starting", broken)
    panel.start_button.click()  # ipywidgets would swallow this exception
    assert stdout_of(panel.out) == "error: RuntimeError: the stopper is broken\n"


def test_the_label_always_ends_on_the_true_state_after_start_stop_races() -> None:
    # Stop pressed 0-2 ms after Start on a quick guest: the guest often finishes first.
    example = Example()
    panel = stop_panel(example, x=1, y=7)
    endings = set()
    for i in range(300):
        panel.start_button.click()
        time.sleep((i % 5) * 0.0005)
        panel.stop_button.click()
        wait_idle(panel)
        assert panel.status.value == "idle", f"race {i}: the label says {panel.status.value!r} after the call ended"
        assert not panel.start_button.disabled and panel.stop_button.disabled, f"race {i}"
        endings.add(stdout_of(panel.out))
    assert endings <= {"Exited early with exit code: 1\n", "Interrupted: stopped by the Stop button\n"}, endings


def test_a_stop_pressed_before_the_background_call_begins_is_kept() -> None:
    example = Example(ENDLESS_WAT)
    panel = stop_panel(example, timeout=30)
    started = threading.Event()
    real_start = threading.Thread.start

    def slow_start(thread: threading.Thread) -> None:
        # Stop arrives while the panel's thread is still being started.
        if thread.name == "earlyexit-stop-panel":
            panel.stop_button.click()
            started.set()
        real_start(thread)

    threading.Thread.start = slow_start  # type: ignore[method-assign]
    try:
        start = time.monotonic()
        panel.start_button.click()
    finally:
        threading.Thread.start = real_start  # type: ignore[method-assign]
    assert started.is_set()
    wait_idle(panel)
    assert time.monotonic() - start < 5  # at once, not at the 30 s deadline
    assert stdout_of(panel.out) == "Interrupted: stopped by the Stop button\n"
    assert panel.status.value == "idle"
