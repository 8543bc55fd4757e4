"""A real JupyterLab server for the browser tests, and helpers to drive a notebook in it.

The server is a subprocess on 127.0.0.1 with no token, isolated Jupyter
directories in a temporary folder, and a temporary copy of notebooks/ as its
root, so a run never touches the committed outputs. It and its kernels run on
this interpreter (the project's virtual environment).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = ROOT / "screenshots"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A container's /dev/shm is often 64 MB, too small for a page's renderer: use /tmp instead.
    "--disable-dev-shm-usage",
]

# No news or update toasts, a kernel without the "select kernel" dialog, and every
# cell in the DOM (windowing would leave cells far from the viewport unrendered).
SETTING_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
}

SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 5.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_chromium() -> str | None:
    """Debian's Chromium: /usr/bin/chromium, else `chromium` on PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    process: subprocess.Popen
    root_dir: Path
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def api(self, method: str, path: str, timeout: float = 10.0):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every session's kernel (a finished test's kernel should not eat the CPU)."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30.0)
        except (OSError, urllib.error.URLError, ValueError):
            pass  # best effort; stopping the server stops them anyway


def _write_isolated_dirs(base: Path) -> dict[str, str]:
    """Jupyter config, data and runtime dirs under `base`, with the overrides and a kernelspec."""
    config_dir, data_dir, runtime_dir = base / "config", base / "data", base / "runtime"
    ipython_dir = base / "ipython"
    for directory in (config_dir / "labconfig", data_dir / "kernels" / "python3", runtime_dir, ipython_dir):
        directory.mkdir(parents=True, exist_ok=True)
    (config_dir / "labconfig" / "default_setting_overrides.json").write_text(json.dumps(SETTING_OVERRIDES, indent=1))
    # The kernel runs on this interpreter, whatever `python` on PATH is.
    kernelspec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"debugger": True},
    }
    (data_dir / "kernels" / "python3" / "kernel.json").write_text(json.dumps(kernelspec, indent=1))
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(data_dir),
        JUPYTER_RUNTIME_DIR=str(runtime_dir),
        IPYTHONDIR=str(ipython_dir),
        # The venv's bin first, for anything that looks tools up on PATH.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        PYTHONUNBUFFERED="1",
    )
    for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH", "JUPYTER_TOKEN"):
        env.pop(name, None)
    return env


def start_lab(base: Path) -> LabServer:
    """Start `jupyter lab` serving a copy of notebooks/ and wait until it answers."""
    root_dir = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = _write_isolated_dirs(base)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = base / "server.log"
    with open(log_path, "wb") as log:  # the server keeps its own copy of the file descriptor
        process = subprocess.Popen(
            command,
            cwd=base,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, which then stops the server
        )
    server = LabServer(url=f"http://127.0.0.1:{port}", process=process, root_dir=root_dir, log_path=log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/api/status", timeout=2) as response:
                if response.status == 200:
                    return server
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            stop_lab(server)
            raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT:g} s:\n{server.log_tail()}")
        time.sleep(0.2)


def _children(pid: int) -> list:
    try:
        import psutil
    except ImportError:
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def stop_lab(server: LabServer) -> None:
    """SIGTERM the server by its pid (it shuts its kernels down), kill it if it lingers."""
    process = server.process
    kernels = _children(process.pid)  # the server's own kernels, to make sure none outlives it
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SERVER_STOP_TIMEOUT)
    for child in kernels:
        try:
            if child.is_running():
                child.kill()
        except Exception:  # psutil.Error: already gone
            pass


# --- the page ---------------------------------------------------------------------

KERNEL_READY_JS = """(path) => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    if (!panel || !panel.context || panel.context.path !== path || !panel.sessionContext) return false;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

RUN_ALL_JS = """() => {
    window.__runAll = 'running';
    window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.__runAll = ok ? 'ok' : 'failed'; },
        (error) => { window.__runAll = 'error: ' + error; },
    );
}"""

# Run All has finished: its promise settled, no cell shows [*], and the kernel is idle.
RUN_ALL_DONE_JS = """() => {
    if (window.__runAll === 'running') return false;
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel || kernel.status !== 'idle') return false;
    const prompts = [...panel.node.querySelectorAll('.jp-InputPrompt')].map((p) => p.textContent);
    return !prompts.some((text) => text.includes('*'));
}"""

# What every code cell of the open notebook shows: source, execution count, outputs.
CELLS_JS = """() => {
    const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
    const result = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        const json = cell.toJSON();
        result.push({
            index: i,
            type: cell.type,
            source: cell.sharedModel.getSource(),
            count: cell.type === 'code' ? cell.executionCount : null,
            outputs: cell.type === 'code' ? json.outputs : [],
        });
    }
    return result;
}"""


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
