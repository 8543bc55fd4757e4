"""The one printable-line helper: outside text shown on one line, escaped and bounded."""

from __future__ import annotations

import pytest

from earlyexit_tutorial._support.printable import NAME_CHARS, listed, one_line, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("tick", "tick"),
        ("a\nb", "a\\nb"),
        ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
        ("\x9b31m", "\\x9b31m"),  # the one-byte CSI of C1
        ("abc\u202edcba", "abc\\u202edcba"),  # a right-to-left override shows text in another order
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("\udcff", "\\udcff"),
        ("é ünïcode ✓", "é ünïcode ✓"),  # printable text stays as it is
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_one_line_bounds_the_text_after_escaping_it() -> None:
    assert one_line("x" * NAME_CHARS) == "x" * NAME_CHARS
    assert one_line("x" * (NAME_CHARS + 1)) == "x" * (NAME_CHARS - 1) + "…"
    assert one_line("\n" * 100, 10) == "\\n\\n\\n\\n…"  # cut between escapes, never inside one
    huge = one_line("\x1b" * 10_000_000, 40)  # a megabyte name costs no more than a short one
    assert huge == "\\x1b" * 9 + "…" and "\x1b" not in huge


def test_listed_shows_a_few_names_then_how_many_more() -> None:
    assert listed([]) == ""
    assert listed(["a", "b", "c"]) == "a, b, c"
    assert listed([f"n{i}" for i in range(10_000)]) == "n0, n1, n2 and 9,997 more"
    assert listed(["\x1b[2J" * 50]) == one_line("\x1b[2J" * 50)


def test_printable_text_is_shown_without_the_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    import earlyexit_tutorial._support.printable as module

    class NoRegex:
        def sub(self, *args: object) -> str:
            raise AssertionError("the regex ran for text with nothing to escape")

    monkeypatch.setattr(module, "re", NoRegex())
    assert printable("env.early_exit") == "env.early_exit"
    assert printable("é ünïcode ✓ 1 + 2") == "é ünïcode ✓ 1 + 2"


def test_every_character_the_regex_escapes_is_one_isprintable_refuses() -> None:
    # What the shortcut past the regex rests on, over every code point there is.
    import re

    from earlyexit_tutorial._support.printable import _UNPRINTABLE

    everything = "".join(map(chr, range(0x110000)))
    escaped = re.findall(_UNPRINTABLE, everything)
    assert len(escaped) > 2000  # the surrogates alone are 2,048: the pattern was read whole
    assert not [char for char in escaped if char.isprintable()]
