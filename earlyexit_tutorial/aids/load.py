"""A live load run on notebook 04's server: K threads, N requests, a share of them looping or growing memory.

The notebook (`load_panel`) and `benchmarks/load.py` (`run_load`) run the same
requests through the same code. What a run must show, whatever the machine:
no wrong outcomes and no call cut short by a neighbour. Throughput and latency
are measurements, different on every run.
"""

from __future__ import annotations

import concurrent.futures
import html
import math
import numbers
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..guide.outcome import Interrupted, Outcome
from .server import KINDS, SPIN_TIMEOUT, GuestServer, Request, describe_outcome, timed

WORK_STEPS = 2_000_000  # loop steps of a `work` request: about a millisecond of wasm


@dataclass(frozen=True)
class Served:
    """One request as served: what it should have given, what it gave, and how long it took."""

    request: Request
    outcome: Outcome
    seconds: float

    @property
    def label(self) -> str:
        return describe_outcome(self.outcome)

    @property
    def cut_short(self) -> bool:
        """Stopped although nothing of its own stopped it: its neighbour's deadline or stop did."""
        return isinstance(self.outcome, Interrupted) and self.label != self.request.expected

    @property
    def wrong(self) -> bool:
        """An outcome other than this request's own (one cut short is counted apart)."""
        return self.label != self.request.expected and not self.cut_short


@dataclass(frozen=True)
class LoadReport:
    """What a load run served: the counts that must be the same on every run, and the timings."""

    threads: int
    served: tuple[Served, ...]
    seconds: float

    @property
    def wrong(self) -> int:
        return sum(s.wrong for s in self.served)

    @property
    def cut_short(self) -> int:
        return sum(s.cut_short for s in self.served)

    def count(self, kind: str) -> tuple[int, int]:
        """How many requests of `kind` got their own outcome, and how many there were."""
        of_kind = [s for s in self.served if s.request.kind == kind]
        return sum(s.label == s.request.expected for s in of_kind), len(of_kind)

    @property
    def throughput(self) -> float:
        """Requests served per second, over the whole run."""
        return len(self.served) / self.seconds

    def latency(self, percent: float) -> float:
        """The `percent`th percentile latency, in seconds, of the requests that do not loop (nearest rank)."""
        times = sorted(s.seconds for s in self.served if s.request.kind != "spin")
        if not times:  # every request looped: no latency to speak of
            return math.nan
        return times[min(len(times) - 1, max(0, math.ceil(percent / 100 * len(times)) - 1))]

    def counts(self) -> str:
        """The figures that are the same on every run, one per line."""
        lines = [
            f"requests served: {len(self.served)}",
            f"wrong outcomes: {self.wrong}",
            f"calls cut short by a neighbour: {self.cut_short}",
        ]
        for kind in KINDS:
            own, total = self.count(kind)
            if total:
                lines.append(f"{kind} requests with their own outcome: {own}/{total}")
        return "\n".join(lines)

    def rows(self) -> list[tuple[str, str]]:
        """The figures as (what, value) rows: timings first, then the counts."""
        return [
            ("threads", str(self.threads)),
            ("requests", str(len(self.served))),
            ("throughput", f"{self.throughput:,.0f} requests/s"),
            ("p50 latency", _ms(self.latency(50))),
            ("p99 latency", _ms(self.latency(99))),
            ("wrong outcomes", str(self.wrong)),
            ("calls cut short by a neighbour", str(self.cut_short)),
        ]

    def table_html(self) -> str:
        """The rows as a small HTML table."""
        cells = "".join(
            f"<tr><td>{what}</td><td style='text-align:right'>{value}</td></tr>" for what, value in self.rows()
        )
        return f"<table><thead><tr><th>what</th><th>measured</th></tr></thead><tbody>{cells}</tbody></table>"


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1e3:.2f} ms"


def plan(requests: int, *, looping: float = 0.05, growing: float = 0.1, seed: int = 0) -> list[Request]:
    """The requests of a load run: `looping` and `growing` are the shares that loop forever or grow memory."""
    requests = _count("requests", requests)
    looping, growing = _share("looping", looping), _share("growing", growing)
    if looping + growing > 1:
        raise ValueError(f"looping + growing must be at most 1, got {looping} + {growing}")
    n_spin, n_grow = round(requests * looping), round(requests * growing)
    rest = requests - n_spin - n_grow
    made = [Request("spin", 0, timeout=SPIN_TIMEOUT) for _ in range(n_spin)]
    made += [Request("grow") for _ in range(n_grow)]
    # The rest alternate: work, then an early exit whose code is the request's own number.
    made += [Request("work", WORK_STEPS) if i % 2 else Request("exit", i) for i in range(rest)]
    random.Random(seed).shuffle(made)  # the same order on every run with the same seed
    return made


def run_load(
    requests: Sequence[Request],
    *,
    threads: int = 4,
    server: GuestServer | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> LoadReport:
    """Serve `requests` on `threads` worker threads of one server; `progress(done, total)` as they finish."""
    threads = _count("threads", threads)
    server = GuestServer() if server is None else server
    served: list[Served] = []
    start = time.perf_counter()
    pool = concurrent.futures.ThreadPoolExecutor(threads)
    try:
        futures = {pool.submit(timed, server.handle, request): request for request in requests}
        for future in concurrent.futures.as_completed(futures):
            outcome, seconds = future.result()
            served.append(Served(futures[future], outcome, seconds))
            progress(len(served), len(futures))
    except BaseException:
        # Ctrl-C on the waiting thread: stop what runs, drop what waits, then let it go on.
        for request in requests:
            request.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return LoadReport(threads, tuple(served), time.perf_counter() - start)


def load_panel(requests: int = 400, *, threads: int = 4, looping: float = 0.05, growing: float = 0.1) -> LoadReport:
    """Run a load test with a progress bar, then show its figures in a table; return its report.

    The panel's "Run again" button runs the same load once more, in the background.
    """
    import ipywidgets
    from IPython.display import display

    # The values checked before anything is shown.
    threads, _ = _count("threads", threads), plan(requests, looping=looping, growing=growing)
    bar = ipywidgets.IntProgress(value=0, min=0, max=requests, description="served")
    table = ipywidgets.HTML()
    again = ipywidgets.Button(description="Run again", icon="redo", disabled=True)
    display(ipywidgets.VBox([bar, table, again]))

    def one_run() -> LoadReport:
        todo = plan(requests, looping=looping, growing=growing)
        step = max(1, len(todo) // 50)  # about fifty updates: each one is a message to the front end

        def show(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                bar.value = done

        bar.value = 0
        report = run_load(todo, threads=threads, progress=show)
        table.value = report.table_html()
        return report

    def run_again_in_background() -> None:
        try:
            one_run()
        except Exception as error:  # shown in the panel: a background thread has no cell to show it in
            table.value = html.escape(f"the load run failed: {type(error).__name__}: {error}")
        finally:
            again.disabled = False

    def on_click(button: object) -> None:
        again.disabled = True
        threading.Thread(target=run_again_in_background, daemon=True).start()

    again.on_click(on_click)
    report = one_run()
    again.disabled = False
    return report


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _share(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number from 0 to 1, got {type(value).__name__}")
    share = float(value)
    if not 0 <= share <= 1:  # also refuses nan
        raise ValueError(f"{name} must be from 0 to 1, got {value}")
    return share
