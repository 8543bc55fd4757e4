"""Write the picture of the guide's call, drawn by the package, to docs/_static/early-exit.svg.

Run it as `python docs/make_diagram.py` (or `make diagram`).
"""

from __future__ import annotations

from pathlib import Path

from earlyexit_tutorial import Example, call_diagram

PICTURE = Path(__file__).resolve().parent / "_static" / "early-exit.svg"


def guide_diagram_svg() -> str:
    """The sequence diagram of the guide's call run(1, 7), as SVG text."""
    return call_diagram(Example().run(1, 7), 1, 7).svg


if __name__ == "__main__":
    PICTURE.write_text(guide_diagram_svg(), encoding="utf-8")
    print(f"wrote {PICTURE}")
