"""A real JupyterLab on 127.0.0.1 driven by Debian's Chromium through Playwright.

Strategy
--------
The browser tests prove what no headless check can: that a notebook opened in a real
JupyterLab renders amikit's widgets and that they keep updating while the kernel is idle.

* ``LabServer`` starts ``python -m jupyterlab`` as a child process in a temporary root
  directory (a copy of the notebooks, so the repository is never written to), on a free
  loopback port, with a random token, ``--allow-root`` (CI runs as root), temporary
  workspace/settings directories (the "news" toast disabled) and ``expose_app_in_browser``
  so the test can drive ``window.jupyterapp`` instead of clicking through menus.
* Chromium is Debian's ``/usr/bin/chromium``: ``playwright install`` would download a browser,
  which this environment cannot do. It runs headless with a fresh profile and every
  background-networking feature turned off, so it only ever talks to 127.0.0.1.
* Every wait is on a condition (HTTP status, kernel status, DOM attribute) with a deadline.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing_browser_parts(chromium: str = CHROMIUM) -> list[str]:
    """What the browser test lacks: Chromium, Playwright, JupyterLab (empty: ready)."""
    missing = [] if os.access(chromium, os.X_OK) else [chromium]
    missing += [name for name in ("playwright", "jupyterlab") if find_spec(name) is None]
    return missing


def require_browser(chromium: str = CHROMIUM) -> None:
    """Skip (locally) or fail (``CI=true``) when a part of the browser test is missing.

    The suite never installs anything: ``.ci/run`` installs the parts with
    ``.ci/install-browser`` before it runs the tests, so in CI a missing part is a failure.
    """
    import pytest

    missing = missing_browser_parts(chromium)
    if not missing:
        return
    reason = f"browser test needs {', '.join(missing)}: run `bash .ci/install-browser` first"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


class LabServer:
    """A JupyterLab server process serving ``root`` on 127.0.0.1."""

    def __init__(self, root: Path, *, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self._env = env
        self._tmp = Path(tempfile.mkdtemp(prefix="amikit-lab-"))
        self.log_path = self._tmp / "lab.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        settings = self._tmp / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        args = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.disable_check_xsrf=True",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={self._tmp / 'workspaces'}",
            f"--LabApp.user_settings_dir={self._tmp / 'settings'}",
            "--LabServerApp.announcements_url=",
        ]
        env = dict(os.environ if self._env is None else self._env)
        env["JUPYTER_CONFIG_DIR"] = str(self._tmp / "config")
        env["JUPYTER_RUNTIME_DIR"] = str(self._tmp / "runtime")
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            args, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        url = f"{self.base}/api/status?token={self.token}"
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"jupyter lab not ready in {timeout}s:\n{self.log()}")
            time.sleep(0.2)  # polling interval for an HTTP readiness probe

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}&reset"

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if getattr(self, "_log", None) is not None:
            self._log.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


@contextmanager
def lab_server(root: Path, *, env: dict[str, str] | None = None) -> Iterator[LabServer]:
    server = LabServer(root, env=env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A Playwright page in headless Debian Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="amikit-chromium-")
    try:
        with sync_playwright() as pw:
            # A fresh profile directory per run (Playwright passes it as --user-data-dir).
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1280, "height": 1000},
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.page_errors = []  # type: ignore[attr-defined]
                page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# JavaScript snippets run in the page (window.jupyterapp exists thanks to expose_app_in_browser).
JS_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""
JS_RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
JS_ALL_CELLS_DONE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const k = w.sessionContext.session.kernel;
  return k.status === 'idle' && cells.every(c => c.model.executionCount !== null
                                               && !c.hasClass('jp-mod-running'));
}"""
JS_ERRORS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const out = [];
  for (const c of w.content.widgets) {
    if (c.model.type !== 'code') continue;
    for (let i = 0; i < c.model.outputs.length; i++) {
      const o = c.model.outputs.get(i);
      if (o.type === 'error') out.push(o.toJSON());
    }
  }
  return out;
}"""
