"""A sequence diagram of a real call, drawn from its outcome and its wasm frames."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import wasmtime
from IPython.lib.pretty import pretty

from earlyexit_tutorial import Example, ExitedEarly, Interrupted, OtherError, Returned
from earlyexit_tutorial.aids.diagram import CallDiagram, call_diagram
from earlyexit_tutorial.aids.sequence import wasm_frames

from .helpers import ENDLESS_WAT

SVG = "{http://www.w3.org/2000/svg}"

UNREACHABLE = (
    '(module (import "env" "early_exit" (func)) (func $run (export "run") (param i32 i32) (result i32) unreachable))'
)
# early_exit is called from a helper, and `run` itself has no name in the module.
NESTED = """(module (import "env" "early_exit" (func $e))
  (func $helper (call $e))
  (func (export "run") (param i32 i32) (result i32) (call $helper) (i32.add (local.get 0) (local.get 1))))"""

HOST, GUEST, EXIT_FN = "Python host", "wasm guest (run)", "early_exit (host)"
GUIDE_REST = "local.get $x · local.get $y · i32.add"

# name: (how to get the outcome, its type, participants, lines the text must hold, whether a step is skipped)
CASES = {
    "exit": (
        lambda: Example().run(1, 7),
        ExitedEarly,
        [HOST, GUEST, EXIT_FN],
        [
            "Python host -> wasm guest (run): run(1, 7)",
            "wasm guest (run) -> early_exit (host): early_exit()",
            "early_exit (host): raise ExitCode(1)",
            "early_exit (host) --> wasm guest (run): ExitCode(1) unwinds",
            "wasm guest (run): through wasm frame run",
            f"wasm guest (run): never ran: {GUIDE_REST}",
            "wasm guest (run) --> Python host: re-raised: ExitCode(1)",
            "Python host: except ExitCode: ExitedEarly",
        ],
        True,
    ),
    "return": (
        lambda: Example(behaviour="return").run(1, 7),
        Returned,
        [HOST, GUEST, EXIT_FN],
        [
            "Python host -> wasm guest (run): run(1, 7)",
            "wasm guest (run) -> early_exit (host): early_exit()",
            "early_exit (host) --> wasm guest (run): returns normally",
            f"wasm guest (run): ran: {GUIDE_REST}",
            "wasm guest (run) --> Python host: returns 8",
            "Python host: got 8: no early exit (the guide's failure)",
        ],
        False,
    ),
    "host-error": (
        lambda: Example(behaviour="error").run(1, 7),
        OtherError,
        [HOST, GUEST, EXIT_FN],
        [
            "early_exit (host): raise HostFailure",
            "early_exit (host) --> wasm guest (run): HostFailure unwinds",
            "wasm guest (run): through wasm frame run",
            f"wasm guest (run): never ran: {GUIDE_REST}",
            "wasm guest (run) --> Python host: re-raised: HostFailure",
            "Python host: except Exception: OtherError",
            "=> Unknown error `the host function failed on purpose` found. expected `ExitCode`",
        ],
        True,
    ),
    "unreachable": (
        lambda: Example(UNREACHABLE).run(1, 7),
        OtherError,
        [HOST, GUEST],
        [
            "Python host -> wasm guest (run): run(1, 7)",
            "wasm guest (run): traps: unreachable",
            "wasm guest (run): unwinds wasm frame run",
            "wasm guest (run): never ran: the rest of run",
            "wasm guest (run) --> Python host: Trap (unreachable)",
            "Python host: except Exception: OtherError",
        ],
        True,
    ),
    "deadline": (
        lambda: Example(ENDLESS_WAT).run(1, 7, timeout=0.2),
        Interrupted,
        [HOST, GUEST],
        [
            "Python host -> wasm guest (run): run(1, 7)",
            "Python host -> wasm guest (run): after 0.2 s: increment_epoch()",
            "wasm guest (run): next epoch check traps",
            "wasm guest (run): unwinds wasm frame run",
            "wasm guest (run): never ran: the rest of run",
            "wasm guest (run) --> Python host: Trap (interrupt)",
            "Python host: Interrupted (deadline)",
            "=> Interrupted: the guest ran past its 0.2 s deadline",
        ],
        True,
    ),
    "fuel": (
        lambda: Example(ENDLESS_WAT).run(1, 7, fuel=1000),
        Interrupted,
        [HOST, GUEST],
        [
            "Python host -> wasm guest (run): run(1, 7) with a fuel budget",
            "wasm guest (run): out of fuel after 1000 units: traps",
            "wasm guest (run): unwinds wasm frame run",
            "wasm guest (run): never ran: the rest of run",
            "wasm guest (run) --> Python host: Trap (out of fuel)",
            "Python host: Interrupted (fuel)",
        ],
        True,
    ),
}


@pytest.fixture(scope="module")
def outcomes():
    return {name: case[0]() for name, case in CASES.items()}


def texts(svg: str) -> list[str]:
    """Every piece of text drawn in the picture (not the title or description)."""
    root = ET.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("name", CASES)
def test_each_outcome_draws_its_own_path(outcomes, name):
    _, kind, participants, lines, skipped = CASES[name]
    outcome = outcomes[name]
    assert isinstance(outcome, kind)
    diagram = call_diagram(outcome, 1, 7)
    assert isinstance(diagram, CallDiagram)

    root = ET.fromstring(diagram.svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    drawn = texts(diagram.svg)
    for participant in participants:
        assert participant in drawn
    for absent in {HOST, GUEST, EXIT_FN} - set(participants):
        assert absent not in drawn

    text_lines = diagram.text.splitlines()
    assert text_lines[0] == " | ".join(participants)
    for line in lines:
        assert line in text_lines
    assert text_lines[-1] == f"=> {outcome.message}"

    # The skipped step is greyed and struck out, only when something never ran.
    assert ("never ran" in drawn) is skipped
    assert ('class="strike"' in diagram.svg) is skipped
    assert ("ran" in drawn) is (not skipped)


def test_arrows_are_drawn_with_markers(outcomes):
    root = ET.fromstring(call_diagram(outcomes["exit"], 1, 7).svg)
    arrows = [line for line in root.iter(f"{SVG}line") if line.get("marker-end")]
    # run, early_exit, the unwind into the guest and the re-raise into the host
    assert len(arrows) == 4
    assert sum("dashed" in line.get("class", "") for line in arrows) == 2
    assert sum("error" in line.get("class", "") for line in arrows) == 2


@pytest.mark.parametrize("name", CASES)
def test_text_fallback_mentions_every_drawn_step(outcomes, name):
    diagram = call_diagram(outcomes[name], 1, 7)
    for piece in texts(diagram.svg):
        # A label clipped to fit the picture still starts like its full text.
        assert piece.rstrip("…") in diagram.text


def test_jupyter_representations(outcomes):
    diagram = call_diagram(outcomes["exit"], 1, 7)
    assert diagram._repr_svg_() == diagram.svg
    assert repr(diagram) == diagram.text == str(diagram)
    assert pretty(diagram) == diagram.text
    assert diagram.text.count("\n") == len(diagram.text.splitlines()) - 1  # one step per line, no blank lines


@pytest.mark.parametrize("name", CASES)
def test_the_same_call_draws_the_same_bytes(outcomes, name):
    assert call_diagram(outcomes[name], 1, 7).svg == call_diagram(outcomes[name], 1, 7).svg


def test_separate_runs_draw_the_same_bytes():
    first = call_diagram(Example().run(1, 7), 1, 7)
    second = call_diagram(Example().run(1, 7), 1, 7)
    assert first.svg == second.svg and first.text == second.text


def test_nothing_varies_from_run_to_run(outcomes):
    for outcome in outcomes.values():
        svg = call_diagram(outcome, 1, 7).svg
        assert " at 0x" not in svg and "object at" not in svg  # no object addresses
        # Coordinates are whole numbers, so no float formatting can differ.
        for number in re.findall(r'\s(?:x|y|x1|x2|y1|y2|width|height|rx)="([^"]*)"', svg):
            assert re.fullmatch(r"-?\d+(\.5)?", number), number


def test_ids_are_fixed_per_content_and_differ_between_diagrams(outcomes):
    exit_svg = call_diagram(outcomes["exit"], 1, 7).svg
    return_svg = call_diagram(outcomes["return"], 1, 7).svg
    other_args = call_diagram(outcomes["exit"], 2, 7).svg

    def ids(svg):
        return set(re.findall(r'id="([^"]+)"', svg))

    assert ids(exit_svg).isdisjoint(ids(return_svg))
    assert ids(exit_svg).isdisjoint(ids(other_args))
    # Every marker reference points at an id of the same picture.
    for svg in (exit_svg, return_svg):
        for ref in re.findall(r"url\(#([^)]+)\)", svg):
            assert ref in ids(svg)
        # Styles are scoped to the picture's own id, so inlined diagrams do not restyle each other.
        (root_id,) = re.findall(r'<svg[^>]* id="([^"]+)"', svg)
        style = ET.fromstring(svg).find(f"{SVG}style").text
        for selector in re.findall(r"^\s*([^{}@\s][^{}]*)\{", style, re.M):
            assert all(part.strip().startswith(f"#{root_id}") for part in selector.split(",")), selector


def test_colours_follow_the_theme(outcomes):
    svg = call_diagram(outcomes["exit"], 1, 7).svg
    assert "prefers-color-scheme: dark" in svg
    assert "var(--jp-content-font-color1," in svg and "var(--jp-layout-color0," in svg
    # No colour hard-wired on an element: all come from the style block.
    body = svg.split("</style>", 1)[1]
    assert not re.search(r'\b(fill|stroke)="', body)
    assert "sans-serif" in svg and "font-size: 13px" in svg
    root = ET.fromstring(svg)
    assert int(root.get("width")) <= 640 and int(root.get("height")) <= 360


def test_frames_come_from_the_real_backtrace():
    example = Example(NESTED)
    outcome = example.run(1, 7)
    assert isinstance(outcome, ExitedEarly)
    # The ExitCode carries the wasmtime error it crossed wasm in.
    assert wasm_frames(outcome.exit_code.__context__) == ("helper", "<wasm function 2>")
    diagram = call_diagram(outcome, 1, 7, after_call=None)
    assert "wasm guest (run): through wasm frames helper, <wasm function 2>" in diagram.text
    assert "wasm guest (run): never ran: the rest of run" in diagram.text
    # Escaped in the SVG, so it still parses; clipped there if it does not fit.
    (label,) = [piece for piece in texts(diagram.svg) if piece.startswith("through wasm frames helper, <wasm")]
    assert "through wasm frames helper, <wasm function 2>".startswith(label.rstrip("…"))


def test_trap_frames_use_the_frames_api():
    outcome = Example(UNREACHABLE).run(1, 7)
    assert isinstance(outcome.error, wasmtime.Trap)
    assert wasm_frames(outcome.error) == ("run",)
    assert wasm_frames(ValueError("no wasm here")) == ()


def test_recursion_is_summarised():
    deep = """(module (import "env" "early_exit" (func))
      (func $deep (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))
      (func (export "run") (param i32 i32) (result i32) (call $deep (local.get 0))))"""
    diagram = call_diagram(Example(deep).run(1, 7), 1, 7)
    assert "traps: stack overflow" in diagram.text
    assert re.search(r"unwinds wasm frames deep ×\d+", diagram.text)
    ET.fromstring(diagram.svg)


def test_an_error_outside_wasm_claims_nothing_about_the_guest():
    diagram = call_diagram(OtherError(ValueError("bad")), 1, 7)
    assert "wasm guest (run) --> Python host: raises ValueError" in diagram.text
    assert "never ran" not in diagram.text and EXIT_FN not in diagram.text
    ET.fromstring(diagram.svg)


def test_long_arguments_and_labels_stay_in_the_picture(outcomes):
    diagram = call_diagram(outcomes["exit"], -2147483648, 2147483647)
    assert "run(-2147483648, 2147483647)" in texts(diagram.svg)
    long_message = OtherError(RuntimeError("x" * 300))
    root = ET.fromstring(call_diagram(long_message, 1, 7).svg)
    assert all(len("".join(t.itertext())) <= 90 for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("reason, label", [("stop", "Stop button"), ("ctrl-c", "Ctrl-C")])
def test_stop_button_and_kernel_interrupts_are_named(outcomes, reason, label):
    trap = outcomes["deadline"].error
    diagram = call_diagram(Interrupted(reason, trap), 1, 7)
    assert f"Python host -> wasm guest (run): {label}: increment_epoch()" in diagram.text
    assert f"Python host: Interrupted ({reason})" in diagram.text
    ET.fromstring(diagram.svg)


def test_a_learners_module_need_not_be_the_guides(outcomes):
    diagram = call_diagram(outcomes["return"], 1, 7, after_call=None)
    assert "wasm guest (run): ran: the rest of run" in diagram.text
    assert GUIDE_REST not in diagram.text
    ET.fromstring(diagram.svg)


# --- text from outside is escaped -----------------------------------------------------------

# Markup, every character XML 1.0 forbids, lone surrogates (a non-UTF-8 file name decoded
# by os.fsdecode), non-characters and Unicode line breaks.
HOSTILE = [
    "<img src=x onerror=alert(1)> & ]]> nul \x00 bell \x07 escape \x1b[31m vtab \x0b formfeed \x0c",
    "lone surrogates \ud800 and \udcff",
    "non-characters \ufffe \uffff",
    "".join(map(chr, range(32))),
]


def _parses(svg: str) -> ET.Element:
    svg.encode("utf-8")  # no lone surrogate left: a surrogate cannot be sent to the browser
    return ET.fromstring(svg)


@pytest.mark.parametrize("message", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_error_message_still_draws_well_formed_svg(message):
    outcome = OtherError(RuntimeError(message))
    diagram = call_diagram(outcome, 1, 7)
    root = _parses(diagram.svg)
    caption = "".join("".join(el.itertext()) for el in root.iter(f"{SVG}text") if el.get("x") == "14")
    assert "<img" not in diagram.svg  # markup from a message is text, never an element
    assert not [el for el in root.iter() if el.tag.endswith("img")]
    assert "\x00" not in caption and "\x1b" not in caption and "\ud800" not in caption
    if message == HOSTILE[0]:  # shown as the learner wrote it
        assert caption.startswith("Unknown error `<img src=x onerror=alert(1)> & ]]> nul \\x00 bell \\x07")
    # The plain text is printable too, on one line per step.
    str(diagram).encode("utf-8")
    assert len(str(diagram).splitlines()) == len(diagram.text.split("\n"))


def test_a_hostile_exception_class_name_and_stop_reason_are_escaped():
    evil = type("<script>\x01", (Exception,), {})
    svg = call_diagram(OtherError(evil("boom")), 1, 7).svg
    _parses(svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;\\x01" in svg
    stopped = Interrupted("<b>\ud800</b>", RuntimeError("stop"))
    _parses(call_diagram(stopped, 1, 7).svg)


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _named(wasm: bytes, index: int, name: str) -> bytes:
    """`wasm` with a name section that calls function `index` `name` (WAT cannot write control characters)."""
    raw = name.encode("utf-8")
    names = _leb(1) + _leb(index) + _leb(len(raw)) + raw
    payload = _leb(4) + b"name" + b"\x01" + _leb(len(names)) + names
    return wasm + b"\x00" + _leb(len(payload)) + payload


def test_a_hostile_function_name_from_the_module_is_escaped():
    plain = bytes(wasmtime.wat2wasm(UNREACHABLE.replace("$run ", "")))
    outcome = Example(_named(plain, 1, "<b>&\x01\x1b]\u2028")).run(1, 7)
    assert outcome.error.frames[0].func_name == "<b>&\x01\x1b]\u2028"
    diagram = call_diagram(outcome, 1, 7)
    _parses(diagram.svg)
    assert "wasm guest (run): unwinds wasm frame <b>&\\x01\\x1b]\\u2028" in diagram.text.splitlines()
    assert "&lt;b&gt;&amp;\\x01\\x1b]\\u2028" in diagram.svg


def test_one_unit_of_fuel_is_singular():
    outcome = Example(ENDLESS_WAT).run(1, 7, fuel=1)
    assert outcome.message == "Interrupted: the guest ran out of fuel after 1 unit"
    assert "wasm guest (run): out of fuel after 1 unit: traps" in call_diagram(outcome, 1, 7).text.splitlines()
