"""The Stop panel: any timeout it accepts works, a bad one is refused at once, and its label ends true."""

from __future__ import annotations

import math
import threading
import time

import pytest

from earlyexit_tutorial import Example
from earlyexit_tutorial.aids.widgets import stop_panel

from .helpers import ENDLESS_WAT, stdout_of, wait_busy

pytestmark = pytest.mark.usefixtures("close_panels")


def wait_idle(panel, within: float = 10.0) -> None:
    thread = panel.thread
    if thread is not None:
        thread.join(within)
        assert not thread.is_alive(), "the background call did not end"


@pytest.mark.parametrize("timeout", [None, 10**309], ids=["None", "too-large-for-a-float"])
def test_no_deadline_is_supported_and_stop_ends_it(timeout: int | None) -> None:
    panel = stop_panel(Example(ENDLESS_WAT), timeout=timeout)
    panel.start_button.click()
    assert panel.status.value == "running (no deadline)"
    time.sleep(0.1)
    assert panel.thread.is_alive()
    panel.stop_button.click()
    wait_idle(panel)
    assert stdout_of(panel.out) == "Interrupted: stopped by the Stop button\n"
    assert panel.status.value == "idle"


def test_stop_panel_stops_an_endless_guest_from_another_thread():
    panel = stop_panel(Example(ENDLESS_WAT), timeout=30)
    panel.start_button.click()
    assert panel.start_button.disabled and not panel.stop_button.disabled
    time.sleep(0.2)
    assert panel.thread.is_alive()
    clicked = time.monotonic()
    threading.Thread(target=panel.stop_button.click).start()
    panel.thread.join(5)
    assert not panel.thread.is_alive()
    assert time.monotonic() - clicked < 1
    assert stdout_of(panel.out) == "Interrupted: stopped by the Stop button\n"
    assert not panel.start_button.disabled and panel.stop_button.disabled
    # and again, in the same store
    panel.start_button.click()
    time.sleep(0.1)
    panel.stop_button.click()
    panel.thread.join(5)
    assert stdout_of(panel.out) == "Interrupted: stopped by the Stop button\n"


def test_stop_panel_has_a_deadline_of_its_own():
    panel = stop_panel(Example(ENDLESS_WAT), timeout=0.3)
    panel.start_button.click()
    panel.thread.join(5)
    assert stdout_of(panel.out) == "Interrupted: the guest ran past its 0.3 s deadline\n"


@pytest.mark.parametrize(
    "timeout, error",
    [(0, ValueError), (-1, ValueError), (math.nan, ValueError), ("5", TypeError), (True, TypeError)],
    ids=["0", "-1", "nan", "text", "True"],
)
def test_a_bad_timeout_is_refused_when_the_panel_is_made(timeout: object, error: type) -> None:
    with pytest.raises(error, match="^timeout "):
        stop_panel(Example(), timeout=timeout)  # type: ignore[arg-type]


def test_an_error_in_a_click_handler_is_shown_in_the_panel(monkeypatch) -> None:
    example = Example()
    panel = stop_panel(example)

    def broken() -> None:
        raise RuntimeError("the stopper is broken")

    monkeypatch.setattr(example, "_announce", broken)
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


def test_a_start_on_a_busy_example_is_refused_before_the_panel_changes_anything():
    example = Example(ENDLESS_WAT)
    first, second = stop_panel(example, timeout=30), stop_panel(example, timeout=30)
    first.start_button.click()
    wait_busy(example)
    second.start_button.click()
    assert stdout_of(second.out).startswith("error: this Example is already running a call")
    assert second.thread is None and second.status.value == "idle"
    assert not second.start_button.disabled and second.stop_button.disabled
    first.stop_button.click()
    first.thread.join(5)
    assert stdout_of(first.out) == "Interrupted: stopped by the Stop button\n"
