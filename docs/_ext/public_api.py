"""The API reference page lists every name in `earlyexit_tutorial.__all__`, each with its docstring.

The page's source ends with the directives this extension writes, one per
public name, so a name added to `__all__` appears without editing the page
(autodoc's own module listing skips constants and the names imported lazily).
"""

from __future__ import annotations

import importlib
import inspect
import typing

from sphinx.application import Sphinx

PAGE = "api"
PACKAGE = "earlyexit_tutorial"


def directives(package: str) -> str:
    """reST autodoc directives for the public names of `package`: classes, then functions, then data."""
    module = importlib.import_module(package)
    groups: dict[str, list[str]] = {"autoclass": [], "autofunction": [], "autodata": [], "data": []}
    for name in sorted(module.__all__, key=str.lower):
        obj = getattr(module, name)
        if inspect.isclass(obj):
            kind = "autoclass"
        elif inspect.isroutine(obj):
            kind = "autofunction"
        elif typing.get_origin(obj) is not None:
            kind = "autodata"  # a type alias: autodoc shows what it stands for
        else:
            kind = "data"  # a constant: its value, not the docstring of its type
        groups[kind].append(name)
    lines = ["", "```{eval-rst}"]
    for kind, names in groups.items():
        for name in names:
            if kind == "data":
                lines.append(f".. py:data:: {package}.{name}")
                value = repr(getattr(module, name))
                lines.append(
                    f"   :value: {value}" if len(value) <= 60 else f"   :type: {type(getattr(module, name)).__name__}"
                )
            else:
                lines.append(f".. {kind}:: {package}.{name}")
            if kind == "autoclass":
                lines.append("   :members:")
            lines.append("")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _append_directives(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname == PAGE:
        source[0] += directives(PACKAGE)


def _always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    # The page's text depends on the package, not only on api.md.
    return [PAGE]


def setup(app: Sphinx) -> dict:
    """Register the extension with Sphinx."""
    app.connect("source-read", _append_directives)
    app.connect("env-get-outdated", _always_reread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
