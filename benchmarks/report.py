"""The benchmark's table: aligned sections, and each figure as a ratio to its floor, marked PASS or MISS."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class Figure:
    """One figure: a ratio to its floor, measured in this run, and whether it meets its goal."""

    key: str  # a stable name for the figure, e.g. "typed_vs_floor.normal"
    name: str  # what is compared with what
    ratio: float | None  # None: not measurable here (a path missing from this version), or not a ratio
    goal: str  # the goal as shown, e.g. "<= 1.25x"
    ok: bool | None  # None: not measured
    measured: str  # the ratio as shown, with whatever else says what it is

    @property
    def verdict(self) -> str:
        """PASS, MISS, or n/a."""
        if self.ok is None:
            return NOT_AVAILABLE
        return "PASS" if self.ok else "MISS"


def x(ratio: float) -> str:
    """A ratio as the table shows it."""
    return f"{ratio:.2f}x"


class Report:
    """Collects the table's sections and the figures' verdicts, then prints them."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def section(
        self, title: str, header: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
    ) -> None:
        """Print one aligned section of the table."""
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        print(f"\n{title}")
        for row in [header, *rows]:
            pairs = enumerate(zip(row, widths, strict=True))
            cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in pairs]
            print("  " + "  ".join(cells).rstrip())
        for note in notes:
            print(f"  note: {note}")
        sys.stdout.flush()

    def figure(
        self,
        key: str,
        name: str,
        ratio: float | None,
        limit: float,
        *,
        measured: str | None = None,
        ok: bool | None = None,
        goal: str | None = None,
    ) -> Figure:
        """Record a figure: `ratio` meets its goal when it is at most `limit` (unless `ok` says otherwise).

        Without a ratio the verdict is n/a, unless `ok` gives one (a count whose goal is 0, say).
        """
        if ratio is None:
            figure = Figure(key, name, None, goal or f"<= {x(limit)}", ok, measured or NOT_AVAILABLE)
        else:
            verdict = ratio <= limit if ok is None else ok
            figure = Figure(key, name, ratio, goal or f"<= {x(limit)}", verdict, measured or x(ratio))
        self.figures.append(figure)
        return figure

    def print_figures(self, closing_note: str = "") -> None:
        """Print every figure with its ratio, goal and verdict, and a count of each verdict."""
        rows = [[f.name, f.measured, f.goal, f.verdict] for f in self.figures]
        counts = {verdict: sum(f.verdict == verdict for f in self.figures) for verdict in ("PASS", "MISS", "n/a")}
        notes = [", ".join(f"{n} {verdict}" for verdict, n in counts.items())]
        if closing_note:
            notes.append(closing_note)
        self.section(
            "Figures against their goals (each a ratio to its floor, measured in this run)",
            ["figure", "measured", "goal", "verdict"],
            rows,
            notes,
        )
