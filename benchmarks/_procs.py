"""Child processes: servers and workers, started with the running interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def spawn(module: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )


class Server:
    """A server child process that prints one JSON line when ready and stops when
    its stdin closes."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = spawn(module, *args)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{module} did not start")
        self.info: dict[str, Any] = json.loads(line)
        self.pid: int = self.info["pid"]

    @property
    def endpoint(self) -> str:
        if "endpoint" in self.info:
            return str(self.info["endpoint"])
        return f"http://127.0.0.1:{self.info['port']}"

    def cpu(self) -> float:
        """User+sys CPU seconds of the server process so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.endpoint + "/__stats", timeout=10) as r:
            data: dict[str, Any] = json.loads(r.read())
            return data

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker:
    """A client worker (``benchmarks._worker``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc = spawn("benchmarks._worker")

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def recv(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.kind} died (exit {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"worker {self.kind}: {reply['error']}")
        return reply

    def ask(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.recv()

    def close(self) -> None:
        try:
            self.ask(cmd="close")
        except (RuntimeError, BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
