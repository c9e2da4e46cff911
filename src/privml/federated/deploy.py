"""A real Flower deployment on this machine: a SuperLink, one SuperNode per client, ``flwr run``.

``LocalCluster`` starts ``flower-superlink --insecure`` and N ``flower-supernode --insecure
--node-config "partition-id=i num-partitions=N"`` as separate processes on free loopback ports,
with a private ``FLWR_HOME`` (so the user's ``~/.flwr`` is never touched) holding the SuperLink
connection ``privml-local`` that ``flwr run`` submits to. The Flower App folder (a
``pyproject.toml`` naming privml's ServerApp and ClientApp) is written next to it. The same
commands, run by hand on several machines, make a multi-machine deployment (see
``privml fl deploy --help``). On exit every process started, and every process they started
(SuperExec, ServerApp, ClientApp), is stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from privml.atomic import write_text

CONNECTION = "privml-local"

APP_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "privml-fl"
version = "1.0.0"
description = "privml federated learning (DP-FedAvg) as a Flower App"
license = "Apache-2.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "privml"

[tool.flwr.app.components]
serverapp = "privml.federated.server_app:app"
clientapp = "privml.federated.client_app:app"

[tool.flwr.app.config]
plan-file = ""
out-dir = ""
"""

APP_README = """\
privml's Flower App. The ServerApp and ClientApp live in the installed privml package
(privml.federated.server_app / client_app), so every SuperLink and SuperNode machine needs
privml installed. Submit with: flwr run . CONNECTION --run-config 'plan-file="..." out-dir="..."'
"""


def write_app(folder: Path) -> Path:
    """Write the Flower App folder (pyproject.toml, README) and return it."""
    write_text(folder / "pyproject.toml", APP_PYPROJECT)
    write_text(folder / "README.md", APP_README)
    return folder


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float, proc: subprocess.Popen) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before listening")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc; empty where /proc is missing)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class LocalCluster:
    """SuperLink + N SuperNodes on loopback, as separate processes (a context manager)."""

    def __init__(self, supernodes: int, workdir: Path, startup_timeout: float = 60.0) -> None:
        if supernodes < 1:
            raise ValueError(f"supernodes: must be >= 1, got {supernodes}")
        self.n = supernodes
        self.workdir = Path(workdir)
        self.timeout = startup_timeout
        self.port = 0
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []
        self.env = dict(os.environ)
        self.env["FLWR_HOME"] = str(self.workdir / "flwr_home")
        self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env["PATH"]

    def _start(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / "logs" / log_name, "wb")  # noqa: SIM115 (closed in stop())
        self.logs.append(log)
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir
        )
        self.procs.append(proc)
        return proc

    def start(self) -> LocalCluster:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        write_text(
            self.workdir / "flwr_home" / "config.toml",
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            f'address = "127.0.0.1:{self.port}"\ninsecure = true\n',
        )
        link = self._start(
            [
                _bin("flower-superlink"),
                "--insecure",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--disable-runtime-dependency-installation",
            ],
            "superlink.log",
        )
        wait_port(self.port, self.timeout, link)
        for i in range(self.n):
            self._start(
                [
                    _bin("flower-supernode"),
                    "--insecure",
                    "--superlink",
                    f"127.0.0.1:{self.port}",
                    "--port",
                    str(free_port()),
                    "--node-config",
                    f"partition-id={i} num-partitions={self.n}",
                ],
                f"supernode-{i}.log",
            )
        return self

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def submit(self, app_dir: Path, run_config: dict[str, str]) -> str:
        """``flwr run APP privml-local --run-config ...``; its output (the run id line)."""
        pairs = " ".join(f'{k}="{v}"' for k, v in run_config.items())
        cmd = [_bin("flwr"), "run", str(app_dir), CONNECTION, "--run-config", pairs]
        done = subprocess.run(
            cmd, env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"flwr run failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def pids(self) -> list[int]:
        """Every process of the cluster: the ones started and their descendants."""
        out = []
        for p in self.procs:
            out.append(p.pid)
            out.extend(descendants(p.pid))
        return out

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every cluster process (descendants first found), then SIGKILL stragglers."""
        pids = self.pids()
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        end = time.monotonic() + grace
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        while time.monotonic() < end and any(_alive(pid) for pid in pids):
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        for log in self.logs:
            log.close()

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, already dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for(out: Path, cluster: LocalCluster, timeout: float) -> None:
    """Block until the ServerApp wrote ``done.json``; raise on ``error.json`` or timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (out / "done.json").exists():
            return
        if (out / "error.json").exists():
            raise RuntimeError(f"the ServerApp failed: {(out / 'error.json').read_text()}")
        if not cluster.alive():
            raise RuntimeError("a SuperLink or SuperNode process exited during the run")
        time.sleep(0.5)
    raise TimeoutError(f"the run did not finish within {timeout:.0f} s (see {out})")
