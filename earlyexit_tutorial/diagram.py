"""A picture of the unwind: a sequence diagram of one real call to the guest's `run`.

The diagram is built from the outcome of the call (and from the wasm frames of
the trap behind it), not from what the guide says should happen, so a learner
who changes the host or the guest sees their own call drawn.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import wasmtime

from .exit_code import ExitCode
from .interrupting import Reason
from .outcome import ExitedEarly, Interrupted, Outcome, Returned, fuel_units
from .printable import clip, printable, xml_text

HOST = "Python host"
GUEST = "wasm guest (run)"
EXIT_FN = "early_exit (host)"

# What the guide's guest (GUEST_WAT) does after `call $early_exit`.
GUIDE_AFTER_CALL: tuple[str, ...] = ("local.get $x", "local.get $y", "i32.add")

# Said instead of the instructions when we do not know them (a trap, an
# interrupt, or a learner's own module).
REST_OF_RUN = "the rest of run"

MAX_FRAMES = 3  # distinct frames named in the picture; deep call chains get "(+N more)"

# --- layout, in px -----------------------------------------------------------

WIDTH = 620
LIFELINE_X = {HOST: 80, GUEST: 320, EXIT_FN: 540}
HEAD_TOP, HEAD_HEIGHT, HEAD_WIDTH = 12, 28, 150
FIRST_ROW, ROW = 70, 30
BAR = 5  # half the width of an activation bar
SANS_CHAR = 7.0  # rough width of one 13 px sans-serif character, to keep text inside the picture
MONO_CHAR = 7.25  # one 12 px monospace character: 0.6 em in DejaVu Sans Mono and Menlo, less in Consolas
CAPTION_CHARS = 80  # per line; a longer caption wraps onto a second line

# --- the sequence, as data -----------------------------------------------------


@dataclass(frozen=True)
class Message:
    """An arrow from one lifeline to another."""

    source: str
    target: str
    label: str
    tone: str = "plain"  # plain, error (an unwinding exception) or stop (interrupted from outside)
    dashed: bool = False  # a return or an unwind rather than a call

    def text(self) -> str:
        return f"{self.source} {'-->' if self.dashed else '->'} {self.target}: {self.label}"


@dataclass(frozen=True)
class Note:
    """Something that happens on one lifeline."""

    at: str
    label: str
    tone: str = "plain"

    def text(self) -> str:
        return f"{self.at}: {self.label}"


@dataclass(frozen=True)
class Steps:
    """Instructions of the guest that ran, or (greyed and struck) never ran."""

    at: str
    instructions: tuple[str, ...]
    ran: bool

    @property
    def code(self) -> str:
        return " · ".join(self.instructions)

    def text(self) -> str:
        return f"{self.at}: {'ran' if self.ran else 'never ran'}: {self.code}"


Step = Union[Message, Note, Steps]


@dataclass(frozen=True)
class CallDiagram:
    """A sequence diagram of one call: SVG for Jupyter, plain text everywhere else."""

    svg: str
    text: str

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def call_diagram(
    outcome: Outcome, x: int, y: int, *, after_call: Optional[Sequence[str]] = GUIDE_AFTER_CALL
) -> CallDiagram:
    """Draw what happened in the call run(x, y) that ended in `outcome`.

    `after_call` names the guest's instructions after `call $early_exit`
    (the guide's guest by default); pass None for a module of your own.
    """
    rest = tuple(printable(step) for step in after_call) if after_call else (REST_OF_RUN,)
    steps = sequence(outcome, f"run({x}, {y})", rest)
    participants = [p for p in (HOST, GUEST, EXIT_FN) if any(_involves(step, p) for step in steps)]
    # The message may hold a learner's or an exception's text: one printable line, like every label.
    message = printable(outcome.message)
    lines = [" | ".join(participants)] + [step.text() for step in steps] + [f"=> {message}"]
    text = "\n".join(lines)
    return CallDiagram(svg=render_svg(participants, steps, message, text), text=text)


# --- what happened ---------------------------------------------------------------


def wasm_frames(error: Optional[BaseException]) -> tuple[str, ...]:
    """The names of the wasm functions an error unwound, innermost first."""
    if isinstance(error, wasmtime.Trap):
        return tuple(frame.func_name or f"<wasm function {frame.func_index}>" for frame in error.frames or [])
    if isinstance(error, wasmtime.WasmtimeError):
        # A host function's exception reaches Python as a WasmtimeError with no
        # frames API, only the backtrace in its text: "0: 0x3a - <unknown>!run".
        names = []
        for line in str(error).splitlines():
            match = _BACKTRACE_LINE.match(line)
            if match:
                names.append(match.group(1).partition("!")[2] or match.group(1))
        return tuple(names)
    return ()


_BACKTRACE_LINE = re.compile(r"^\s*\d+:\s+0x[0-9a-fA-F]+ - (.+?)\s*$")


def _through_wasm(error: BaseException) -> Optional[BaseException]:
    """The wasmtime error behind a host function's exception, if it crossed wasm."""
    # wasmtime-py re-raises the host's own exception while handling the
    # WasmtimeError that carried it out of wasm, so that error is its context.
    context = error.__context__
    return context if isinstance(context, (wasmtime.WasmtimeError, wasmtime.Trap)) else None


def _frames_label(frames: tuple[str, ...], verb: str) -> str:
    if not frames:
        return f"{verb} the guest's frames"
    # Recursion repeats one name many times: say "deep ×20" rather than list it.
    groups: list[list[Any]] = []
    for name in frames:
        if groups and groups[-1][0] == name:
            groups[-1][1] += 1
        else:
            groups.append([name, 1])
    # Function names come from the module's name section: the learner's text.
    shown = ", ".join(
        clip(printable(name), 24) + (f" ×{count}" if count > 1 else "") for name, count in groups[:MAX_FRAMES]
    )
    hidden = sum(count for _, count in groups[MAX_FRAMES:])
    more = f" (+{hidden} more)" if hidden else ""
    return f"{verb} wasm frame{'s' if len(frames) > 1 else ''} {shown}{more}"


def _trap_name(trap: wasmtime.Trap) -> str:
    code = trap.trap_code
    return code.name.lower().replace("_", " ") if code is not None else "no trap code"


def _error_name(error: BaseException) -> str:
    # ExitCode's repr carries the code the learner chose; other errors' reprs
    # can be long, and the caption already gives their message.
    return repr(error) if isinstance(error, ExitCode) else printable(type(error).__name__)


def sequence(outcome: Outcome, call: str, rest: tuple[str, ...]) -> list[Step]:
    """The steps of the call that ended in `outcome`, in order."""
    if isinstance(outcome, Returned):
        return [
            Message(HOST, GUEST, call),
            Message(GUEST, EXIT_FN, "early_exit()"),
            Message(EXIT_FN, GUEST, "returns normally", dashed=True),
            Steps(GUEST, rest, ran=True),
            Message(GUEST, HOST, f"returns {outcome.value}", dashed=True),
            Note(HOST, f"got {outcome.value}: no early exit (the guide's failure)", "error"),
        ]
    if isinstance(outcome, ExitedEarly):
        return _host_raised(outcome.exit_code, call, rest, "except ExitCode: ExitedEarly")
    if isinstance(outcome, Interrupted):
        return _interrupted(outcome, call)
    error = outcome.error
    if isinstance(error, wasmtime.Trap):
        return [
            Message(HOST, GUEST, call),
            Note(GUEST, f"traps: {_trap_name(error)}", "error"),
            Note(GUEST, _frames_label(wasm_frames(error), "unwinds"), "error"),
            Steps(GUEST, (REST_OF_RUN,), ran=False),
            Message(GUEST, HOST, f"Trap ({_trap_name(error)})", "error", dashed=True),
            Note(HOST, "except Exception: OtherError"),
        ]
    if _through_wasm(error) is not None:
        return _host_raised(error, call, rest, "except Exception: OtherError")
    # It failed before or outside wasm: we cannot say what the guest did.
    return [
        Message(HOST, GUEST, call),
        Message(GUEST, HOST, f"raises {_error_name(error)}", "error", dashed=True),
        Note(HOST, "except Exception: OtherError"),
    ]


def _host_raised(error: BaseException, call: str, rest: tuple[str, ...], caught: str) -> list[Step]:
    """The early_exit path: the host function raises and the exception unwinds the guest."""
    name = _error_name(error)
    return [
        Message(HOST, GUEST, call),
        Message(GUEST, EXIT_FN, "early_exit()"),
        Note(EXIT_FN, f"raise {name}", "error"),
        Message(EXIT_FN, GUEST, f"{name} unwinds", "error", dashed=True),
        Note(GUEST, _frames_label(wasm_frames(_through_wasm(error)), "through"), "error"),
        Steps(GUEST, rest, ran=False),
        Message(GUEST, HOST, f"re-raised: {name}", "error", dashed=True),
        Note(HOST, caught),
    ]


def _interrupted(outcome: Interrupted, call: str) -> list[Step]:
    """The guest stopped from outside: an epoch bump, or its fuel running out."""
    frames = wasm_frames(outcome.error)
    error = outcome.error
    trap = _trap_name(error) if isinstance(error, wasmtime.Trap) else printable(type(error).__name__)
    if outcome.reason is Reason.FUEL:
        stop: list[Step] = [
            Message(HOST, GUEST, f"{call} with a fuel budget"),
            Note(GUEST, f"out of fuel{_after_units(outcome.fuel_consumed)}: traps", "stop"),
        ]
    else:
        why = {
            "deadline": f"after {outcome.timeout:g} s" if outcome.timeout is not None else "deadline",
            "stop": "Stop button",
            "kernel": "Ctrl-C",
        }.get(outcome.reason, printable(outcome.reason))
        # The host's waiting thread moves the engine's epoch; the guest notices
        # at its next loop header or function entry and traps.
        stop = [
            Message(HOST, GUEST, call),
            Message(HOST, GUEST, f"{why}: increment_epoch()", "stop"),
            Note(GUEST, "next epoch check traps", "stop"),
        ]
    return stop + [
        Note(GUEST, _frames_label(frames, "unwinds"), "error"),
        Steps(GUEST, (REST_OF_RUN,), ran=False),
        Message(GUEST, HOST, f"Trap ({trap})", "error", dashed=True),
        Note(HOST, f"Interrupted ({printable(outcome.reason)})", "stop"),
    ]


def _after_units(fuel: Optional[int]) -> str:
    return "" if fuel is None else f" after {fuel_units(fuel)}"


def _involves(step: Step, participant: str) -> bool:
    if isinstance(step, Message):
        return participant in (step.source, step.target)
    return step.at == participant


# --- drawing ------------------------------------------------------------------------


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
    out: list[str] = [
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

    def row_y(i: int) -> int:
        return FIRST_ROW + i * ROW

    # Lifelines and their headers.
    for name in participants:
        x = LIFELINE_X[name]
        out.append(f'<line class="life" x1="{x}" y1="{HEAD_TOP + HEAD_HEIGHT}" x2="{x}" y2="{bottom}"/>')
        out.append(
            f'<rect class="head" x="{x - HEAD_WIDTH // 2}" y="{HEAD_TOP}" width="{HEAD_WIDTH}" '
            f'height="{HEAD_HEIGHT}" rx="4"/>'
        )
        out.append(f'<text x="{x}" y="{HEAD_TOP + 19}" text-anchor="middle">{_esc(name)}</text>')

    # Activation bars: from the first step that reaches a lifeline to the last
    # one that leaves it (the host waits for the whole call).
    for name in participants:
        touching = [i for i, step in enumerate(steps) if _involves(step, name)]
        first, last = touching[0], touching[-1]
        if name == HOST:
            first, last = 0, rows - 1
        top, end = row_y(first) - 4, row_y(last) + 4
        x = LIFELINE_X[name]
        out.append(f'<rect class="bar" x="{x - BAR}" y="{top}" width="{2 * BAR}" height="{end - top}"/>')

    for i, step in enumerate(steps):
        y = row_y(i)
        if isinstance(step, Message):
            out.extend(_arrow(step, y, ident))
        elif isinstance(step, Note):
            out.append(_note(step, y))
        else:
            out.extend(_steps_box(step, y))

    out.append(f'<line class="sep" x1="12" y1="{bottom + 8}" x2="{WIDTH - 12}" y2="{bottom + 8}"/>')
    for i, line in enumerate(caption_lines):
        out.append(f'<text x="14" y="{bottom + 27 + 18 * i}">{_esc(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


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


def _steps_box(step: Steps, y: int) -> list[str]:
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
    out.append(
        f'<text class="muted" x="{left + width + 8}" y="{y + 4}">{"ran" if step.ran else "never ran"}</text>'
    )
    return out
