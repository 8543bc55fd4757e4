"""The benchmark's table: aligned sections, and each target with PASS or MISS."""

from __future__ import annotations

import sys
from collections.abc import Sequence


class Report:
    """Collects the table's sections and the targets' verdicts, then prints them."""

    def __init__(self) -> None:
        self.targets: list[tuple[str, str, bool]] = []

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

    def target(self, name: str, measured: str, ok: bool) -> None:
        """Record a target and whether this run met it."""
        self.targets.append((name, measured, ok))

    def print_targets(self) -> None:
        """Print the targets with PASS or MISS."""
        self.section(
            "Targets",
            ["target", "measured", "verdict"],
            [[name, measured, "PASS" if ok else "MISS"] for name, measured, ok in self.targets],
        )
