"""Start and stop the app for the benchmark's browser timings and the browser tests:
``streamlit run dashboard.py`` on a free local port, and Debian's Chromium with its flags.

Playwright never downloads a browser here. No streamlit import: the app runs in a subprocess.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_streamlit(warehouse: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start the app on a free port; return the process and its base URL once it answers."""
    port = _free_port()
    env = {**os.environ, "O2O_WAREHOUSE": str(warehouse), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {proc.stdout.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start within 90 s")


class RunningApp(NamedTuple):
    url: str
    pid: int


@contextlib.contextmanager
def running_app(warehouse: Path, extra_env: dict | None = None) -> Iterator[RunningApp]:
    """``streamlit run dashboard.py`` on ``warehouse`` for the duration of the block."""
    proc, url = start_streamlit(warehouse, extra_env)
    try:
        yield RunningApp(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


