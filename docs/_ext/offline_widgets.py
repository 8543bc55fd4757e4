"""Serve the widget-embedding script from the site itself, so saved widget views render offline.

The script comes from the npm package @jupyter-widgets/html-manager, fetched
once with `npm pack` into a cache folder and checked against its registry
integrity. Its non-AMD bundle (embed.js) needs no require.js and carries the
controls, their styles and their fonts.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PACKAGE = "@jupyter-widgets/html-manager"
VERSION = "1.0.15"  # for ipywidgets 8 (widget protocol 2)
INTEGRITY = "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA=="
# What the site needs from the package's dist/: the script, its licence notice,
# and the font files (Font Awesome) its styles point at.
SCRIPTS = {"embed.js", "embed.js.LICENSE.txt"}
FONT_SUFFIXES = {"woff2", "woff"}  # what every current browser takes; its styles also name eot, svg and ttf
STATIC_SUBDIR = "widgets"  # the bundle lands in _static/widgets/ on the site


def _wanted(name: str) -> bool:
    return name in SCRIPTS or name.rpartition(".")[2] in FONT_SUFFIXES


def fetch_bundle(cache: Path) -> Path:
    """A folder holding widgets/embed.js and its fonts, fetched into `cache` on first use."""
    static = cache / f"html-manager-{VERSION}"
    if (static / STATIC_SUBDIR / "embed.js").is_file():
        return static
    if shutil.which("npm") is None:
        raise ExtensionError(f"npm is needed once to fetch {PACKAGE}@{VERSION} (apt-get install npm)")
    download = cache / "download"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    done = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(download), "--silent"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    tarballs = list(download.glob("*.tgz"))
    if done.returncode != 0 or len(tarballs) != 1:
        raise ExtensionError(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip() or done.stdout.strip()}")
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarballs[0].read_bytes()).digest()).decode()
    if digest != INTEGRITY:
        raise ExtensionError(f"{tarballs[0].name} does not match the integrity pinned for {PACKAGE}@{VERSION}")
    unpacked = download / STATIC_SUBDIR
    unpacked.mkdir()
    with tarfile.open(tarballs[0]) as archive:
        for member in archive.getmembers():
            folder, _, name = member.name.rpartition("/")
            if member.isfile() and folder == "package/dist" and _wanted(name):
                (unpacked / name).write_bytes(archive.extractfile(member).read())
    shutil.rmtree(static, ignore_errors=True)
    static.mkdir(parents=True)
    unpacked.rename(static / STATIC_SUBDIR)
    shutil.rmtree(download)
    return static


def _use_local_bundle(app: Sphinx, config) -> None:
    cache = Path(app.confdir).parent / "build" / "docs-cache"
    config.html_static_path.append(str(fetch_bundle(cache)))
    # Replaces myst-nb's default, which loads require.js and the bundle from CDNs.
    config.nb_ipywidgets_js = {f"{STATIC_SUBDIR}/embed.js": {}}


def setup(app: Sphinx) -> dict:
    """Register the extension with Sphinx."""
    app.connect("config-inited", _use_local_bundle, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
