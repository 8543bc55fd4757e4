"""The live cost table of notebook 01: every path is timed and the table reads well."""

from __future__ import annotations

import math

from earlyexit_tutorial.aids.cost import ROWS, CostTable, early_exit_costs, per_call_us_samples


def test_every_row_is_timed_with_a_positive_figure() -> None:
    table = early_exit_costs(repeat=1, min_time=0.001)
    assert [what for what, _ in table.rows] == [row[0] for row in ROWS]
    assert all(math.isfinite(us) and us > 0 for _, us in table.rows)
    assert table["a Python function call"] == table.rows[0][1]


def test_per_call_us_times_the_statement_itself() -> None:
    calls = []
    figures = per_call_us_samples("calls.append(1)", {"calls": calls}, repeat=3, min_time=0.001)
    assert len(figures) == 3 and all(f > 0 for f in figures)
    assert len(calls) > 3  # calibration plus three rounds really ran the statement


def test_table_as_text_and_as_markdown() -> None:
    table = CostTable([("one thing", 1.5), ("another, longer thing", 12.25)])
    text = repr(table).splitlines()
    assert text[0].startswith("what was timed") and text[0].endswith("µs per call")
    assert text[2] == "one thing              " + "       1.50"
    assert text[3].endswith("12.25")
    markdown = table._repr_markdown_().splitlines()
    assert markdown[:2] == ["| what was timed | µs per call |", "| --- | ---: |"]
    assert markdown[3] == "| another, longer thing | 12.25 |"
    # Underscores are escaped, so Func.__call__ does not turn bold.
    assert CostTable([("Func.__call__", 1.0)])._repr_markdown_().splitlines()[2] == r"| Func.\_\_call\_\_ | 1.00 |"
