"""Code shown in a notebook stays code, whatever it holds: no text of a module's ends up as HTML."""

from __future__ import annotations

import html
import re

import pytest
import wasmtime

from earlyexit_tutorial.aids.source import Source, show_source, show_wat

PAYLOAD = '<img src=x onerror="window.__pwned = 1">'

# A valid module (it compiles) whose block comment holds a line of backticks, then markup.
FENCE_BREAKER = f"""(module
  (; a comment
```
{PAYLOAD}
```
  ;)
  (func (export "run") (param i32 i32) (result i32) i32.const 0))"""

HOSTILE_TEXTS = [
    FENCE_BREAKER,
    f"(module)\n;; ```\n{PAYLOAD}",
    f"(module)\n;; ````````````\n{PAYLOAD}\n;; `````````````````",
    f"(module)\n;; ~~~\n{PAYLOAD}\n~~~",
    f"(module)\r```\r{PAYLOAD}\r```",  # old Mac line ends: CommonMark takes a lone CR as a line end
    f"(module)\n   ```\n{PAYLOAD}",  # a closing fence may be indented by up to three spaces
    f"(module) ;; $$ {PAYLOAD} $$",  # JupyterLab lifts $$...$$ out as math before Markdown runs
    f"`{PAYLOAD}`",
    "```",
    "`" * 500,
]


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer (JupyterLab's follows the same rules for fences) makes of it."""
    markdown_it = pytest.importorskip("markdown_it")
    return markdown_it.MarkdownIt("commonmark").render(markdown)


def only_code(page: str, text: str) -> bool:
    """Whether `page` is exactly one code block holding `text`."""
    found = re.fullmatch(r'<pre><code class="language-(\w+)">(.*)</code></pre>\n', page, re.S)
    return found is not None and html.unescape(found.group(2)) == text.replace("\r\n", "\n").replace("\r", "\n") + "\n"


def test_a_wat_comment_with_a_fence_in_it_is_a_valid_module():
    wasmtime.Module(wasmtime.Engine(), FENCE_BREAKER)  # what a learner could load and show


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_shown_wat_is_one_code_block_holding_the_text_whatever_it_holds(text):
    page = rendered(show_wat(text)._repr_markdown_())
    assert only_code(page, text.rstrip()), page
    assert "<img" not in page


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_the_fence_is_longer_than_every_run_of_backticks_in_the_text(text):
    markdown = show_wat(text)._repr_markdown_()
    fence = re.match("`+", markdown).group()
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    assert len(fence) > longest and len(fence) >= 3
    assert markdown.endswith("\n" + fence)


def test_ordinary_code_keeps_the_plain_three_backtick_fence():
    assert show_wat("(module)")._repr_markdown_() == "```wat\n(module)\n```"
    assert show_source(show_wat)._repr_markdown_().startswith("```python\ndef show_wat(")


def test_the_same_holds_for_bytes_read_from_a_file():
    page = rendered(show_wat(FENCE_BREAKER.encode())._repr_markdown_())
    assert only_code(page, FENCE_BREAKER) and "<img" not in page


@pytest.mark.parametrize("language", ["wat\n<img src=x onerror=alert(1)>", "py`thon", "a b"])
def test_a_language_that_could_end_the_fence_line_is_refused(language):
    with pytest.raises(ValueError, match="language must be a name"):
        Source("x", language)


@pytest.mark.parametrize("value", [None, 42, ["(module)"]])
def test_show_wat_refuses_what_is_not_text_with_a_type_error(value):
    with pytest.raises(TypeError, match="show_wat takes WAT text"):
        show_wat(value)


def test_a_lone_surrogate_is_shown_as_its_escape_and_can_be_sent_as_utf8():
    shown = show_wat("(module) ;; \udcff")
    assert shown._repr_markdown_() == "```wat\n(module) ;; \\udcff\n```"
    assert repr(shown) == "(module) ;; \\udcff"
    shown._repr_markdown_().encode("utf-8")
