"""Drawing a call's steps as an SVG sequence diagram: layout, style and shapes."""

from __future__ import annotations

import hashlib
import textwrap

from .._support.printable import clip, xml_text
from .sequence import EXIT_FN, GUEST, HOST, REST_OF_RUN, Instructions, Message, Note, Step, involves

# Sizes in px.
WIDTH = 620
LIFELINE_X = {HOST: 80, GUEST: 320, EXIT_FN: 540}
HEAD_TOP, HEAD_HEIGHT, HEAD_WIDTH = 12, 28, 150
FIRST_ROW, ROW = 70, 30
BAR = 5  # half the width of an activation bar
SANS_CHAR = 7.0  # rough width of one 13 px sans-serif character, to keep text inside the picture
MONO_CHAR = 7.25  # one 12 px monospace character: 0.6 em in DejaVu Sans Mono and Menlo, less in Consolas
CAPTION_CHARS = 80  # per line; a longer caption wraps onto a second line


def _esc(text: str) -> str:
    # Labels are printable already; this also keeps the SVG well-formed whatever reaches it.
    return xml_text(text)


# Colours come from JupyterLab's theme when the SVG is inlined in a page that
# has them (nbconvert HTML, classic notebook). JupyterLab itself shows SVG in an
# <img>, where those variables do not exist: there the fallbacks follow the
# browser's colour scheme, and the picture carries its own background so its
# text is readable whichever theme surrounds it.
STYLE = """\
#{id} {{
  --ee-bg: var(--jp-layout-color0, #ffffff); --ee-fg: var(--jp-content-font-color1, #1f1f1f);
  --ee-muted: var(--jp-content-font-color3, #7a7a7a); --ee-line: var(--jp-border-color1, #b0b0b0);
  --ee-head: var(--jp-layout-color2, #eeeeee); --ee-error: var(--jp-error-color1, #c62828);
  --ee-stop: var(--jp-warn-color1, #c25e00);
}}
@media (prefers-color-scheme: dark) {{
  #{id} {{
    --ee-bg: var(--jp-layout-color0, #1e1e1e); --ee-fg: var(--jp-content-font-color1, #e8e8e8);
    --ee-muted: var(--jp-content-font-color3, #9a9a9a); --ee-line: var(--jp-border-color1, #6a6a6a);
    --ee-head: var(--jp-layout-color2, #333333); --ee-error: var(--jp-error-color1, #ff7070);
    --ee-stop: var(--jp-warn-color1, #ffa64d);
  }}
}}
#{id} text {{ font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; fill: var(--ee-fg); }}
#{id} .code {{ font-family: var(--jp-code-font-family, monospace); font-size: 12px; }}
#{id} .card {{ fill: var(--ee-bg); stroke: var(--ee-line); }}
#{id} .head {{ fill: var(--ee-head); stroke: var(--ee-line); }}
#{id} .life {{ stroke: var(--ee-line); stroke-dasharray: 4 4; }}
#{id} .bar {{ fill: var(--ee-bg); stroke: var(--ee-fg); }}
#{id} .plain {{ stroke: var(--ee-fg); fill: var(--ee-fg); }}
#{id} .error {{ stroke: var(--ee-error); fill: var(--ee-error); }}
#{id} .stop {{ stroke: var(--ee-stop); fill: var(--ee-stop); }}
#{id} line.plain, #{id} line.error, #{id} line.stop {{ fill: none; stroke-width: 1.5; }}
#{id} .dashed {{ stroke-dasharray: 6 4; }}
#{id} text.error {{ fill: var(--ee-error); stroke: none; }}
#{id} text.stop {{ fill: var(--ee-stop); stroke: none; }}
#{id} text.halo {{ paint-order: stroke; stroke: var(--ee-bg); stroke-width: 4px; stroke-linejoin: round; }}
#{id} .ran {{ fill: var(--ee-bg); stroke: var(--ee-fg); }}
#{id} .skip {{ fill: var(--ee-bg); stroke: var(--ee-muted); stroke-dasharray: 3 3; }}
#{id} text.muted {{ fill: var(--ee-muted); font-style: italic; }}
#{id} text.gone {{ fill: var(--ee-muted); }}
#{id} .strike {{ stroke: var(--ee-muted); stroke-width: 1.2; }}
#{id} .sep {{ stroke: var(--ee-line); }}"""


def render_svg(participants: list[str], steps: list[Step], caption: str, text: str) -> str:
    """Lay the steps out as an SVG sequence diagram, top to bottom."""
    # The ids depend only on the content, so the same call draws the same bytes
    # and two different diagrams inlined in one page keep their own markers.
    ident = "ee-seq-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    rows = len(steps)
    caption_lines = textwrap.wrap(caption, CAPTION_CHARS, max_lines=2, placeholder=" …") or [""]
    bottom = FIRST_ROW + (rows - 1) * ROW + 16
    height = bottom + 18 + 18 * len(caption_lines)
    out = _frame(ident, height, caption, text)
    out.extend(_lifelines(participants, bottom))
    out.extend(_activation_bars(participants, steps))
    for i, step in enumerate(steps):
        y = _row_y(i)
        if isinstance(step, Message):
            out.extend(_arrow(step, y, ident))
        elif isinstance(step, Note):
            out.append(_note(step, y))
        else:
            out.extend(_instructions_box(step, y))

    out.append(f'<line class="sep" x1="12" y1="{bottom + 8}" x2="{WIDTH - 12}" y2="{bottom + 8}"/>')
    for i, line in enumerate(caption_lines):
        out.append(f'<text x="14" y="{bottom + 27 + 18 * i}">{_esc(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _row_y(i: int) -> int:
    return FIRST_ROW + i * ROW


def _frame(ident: str, height: int, caption: str, text: str) -> list[str]:
    """The picture's opening: its size, title and description, style, arrowheads and card."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{ident}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{_esc(caption)}</title>',
        f'<desc id="{ident}-desc">{_esc(text)}</desc>',
        f"<style>\n{STYLE.format(id=ident)}\n</style>",
        "<defs>",
    ]
    for tone in ("plain", "error", "stop"):
        out.append(
            f'<marker id="{ident}-{tone}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
            f'orient="auto-start-reverse"><path class="{tone}" d="M0,1 L9,5 L0,9 z"/></marker>'
        )
    out.append("</defs>")
    out.append(f'<rect class="card" x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1}" rx="6"/>')
    return out


def _lifelines(participants: list[str], bottom: int) -> list[str]:
    """Each participant's header box and dashed lifeline."""
    out = []
    for name in participants:
        x = LIFELINE_X[name]
        out.append(f'<line class="life" x1="{x}" y1="{HEAD_TOP + HEAD_HEIGHT}" x2="{x}" y2="{bottom}"/>')
        out.append(
            f'<rect class="head" x="{x - HEAD_WIDTH // 2}" y="{HEAD_TOP}" width="{HEAD_WIDTH}" '
            f'height="{HEAD_HEIGHT}" rx="4"/>'
        )
        out.append(f'<text x="{x}" y="{HEAD_TOP + 19}" text-anchor="middle">{_esc(name)}</text>')
    return out


def _activation_bars(participants: list[str], steps: list[Step]) -> list[str]:
    """A bar on each lifeline from the first step that reaches it to the last that leaves it."""
    out = []
    for name in participants:
        touching = [i for i, step in enumerate(steps) if involves(step, name)]
        first, last = touching[0], touching[-1]
        if name == HOST:  # the host waits for the whole call
            first, last = 0, len(steps) - 1
        top, end = _row_y(first) - 4, _row_y(last) + 4
        x = LIFELINE_X[name]
        out.append(f'<rect class="bar" x="{x - BAR}" y="{top}" width="{2 * BAR}" height="{end - top}"/>')
    return out


def _arrow(step: Message, y: int, ident: str) -> list[str]:
    x1, x2 = LIFELINE_X[step.source], LIFELINE_X[step.target]
    direction = 1 if x2 > x1 else -1
    start, end = x1 + direction * BAR, x2 - direction * (BAR + 1)
    dashed = " dashed" if step.dashed else ""
    room = int((abs(x2 - x1) - 16) / SANS_CHAR)
    return [
        f'<line class="{step.tone}{dashed}" x1="{start}" y1="{y}" x2="{end}" y2="{y}" '
        f'marker-end="url(#{ident}-{step.tone})"/>',
        f'<text class="{_text_class(step.tone)}" x="{(x1 + x2) // 2}" y="{y - 5}" text-anchor="middle">'
        f"{_esc(clip(step.label, room))}</text>",
    ]


def _text_class(tone: str) -> str:
    return "halo" if tone == "plain" else f"{tone} halo"


def _note(step: Note, y: int) -> str:
    x = LIFELINE_X[step.at]
    # Notes sit right of their lifeline, except on the rightmost one, where
    # they would run off the picture; there they stop short of the guest's bar.
    if x == max(LIFELINE_X.values()):
        anchor, tx, room = "end", x - BAR - 8, (x - LIFELINE_X[GUEST] - 4 * BAR - 16) / SANS_CHAR
    else:
        anchor, tx, room = "start", x + BAR + 8, (WIDTH - x - 24) / SANS_CHAR
    return (
        f'<text class="{_text_class(step.tone)}" x="{tx}" y="{y + 4}" text-anchor="{anchor}">'
        f"{_esc(clip(step.label, int(room)))}</text>"
    )


def _instructions_box(step: Instructions, y: int) -> list[str]:
    x = LIFELINE_X[step.at]
    is_code = step.instructions != (REST_OF_RUN,)
    code = clip(step.code, 40)
    width = int(len(code) * (MONO_CHAR if is_code else SANS_CHAR)) + 16
    left = x - width // 2
    classes = " ".join(c for c in ("code" if is_code else "", "" if step.ran else "gone") if c)
    class_attr = f' class="{classes}"' if classes else ""
    out = [
        f'<rect class="{"ran" if step.ran else "skip"}" x="{left}" y="{y - 9}" width="{width}" height="18" rx="3"/>',
        f'<text{class_attr} x="{x}" y="{y + 4}" text-anchor="middle">{_esc(code)}</text>',
    ]
    if not step.ran:
        # Drawn rather than text-decoration, which not every SVG renderer honours.
        out.append(f'<line class="strike" x1="{left + 5}" y1="{y}" x2="{left + width - 5}" y2="{y}"/>')
    out.append(f'<text class="muted" x="{left + width + 8}" y="{y + 4}">{"ran" if step.ran else "never ran"}</text>')
    return out
