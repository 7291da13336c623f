"""A running ``app.py`` in a child process, for the cold-start benchmark and the soak test.

``AppProcess(index_dir, data_dir)`` starts the app on a free local port (``args``: more command-line
options, e.g. ``["--model", "hash"]``); ``wait_ready()`` polls the
page until it answers (returns the seconds it took, or raises ``RuntimeError`` with the tail of the
app's log); ``rss_mb()`` / ``peak_rss_mb()`` read its memory and ``cpu_s()`` its CPU seconds so far
(user + system, all threads) from ``/proc``; leaving the ``with``
block stops it (and removes the data folder when it made one).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    def __init__(self, index_dir: str | os.PathLike, data_dir: str | os.PathLike | None = None, *,
                 env: dict[str, str] | None = None, log_file: str | os.PathLike | None = None,
                 args: tuple[str, ...] | list[str] = ()):
        self.index_dir = Path(index_dir)
        self.args = list(args)
        self._own_data = data_dir is None  # a folder made here is removed on exit
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="qa-app-data-"))
        self.env = {**os.environ, **(env or {})}
        self.log_file = Path(log_file) if log_file else None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None
        self._t0 = 0.0

    def __enter__(self) -> "AppProcess":
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self._t0 = time.perf_counter()
        try:
            self.proc = subprocess.Popen([sys.executable, "app.py", "--index", str(self.index_dir), "--port",
                                          str(self.port), "--data-dir", str(self.data_dir), *self.args],
                                         cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # the child holds its own descriptor
        return self

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._own_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def elapsed(self) -> float:
        """Seconds since the process was started."""
        return time.perf_counter() - self._t0

    def wait_ready(self, timeout_s: float = 300) -> float:
        """Seconds from start until the page answers HTTP."""
        while time.perf_counter() - self._t0 < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode} before serving{self._tail()}")
            try:
                urllib.request.urlopen(self.url, timeout=1)
                return time.perf_counter() - self._t0
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"app.py did not serve within {timeout_s:.0f} s{self._tail()}")

    def _tail(self) -> str:
        if not (self.log_file and self.log_file.is_file()):
            return ""
        return ":\n" + "\n".join(self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-10:])

    def _status_mb(self, field: str) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return float("nan")

    def cpu_s(self) -> float:
        """CPU seconds the app has used so far (user + system, all its threads); NaN without /proc."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM")
