"""Run every party of an MPC job locally: one subprocess each, TCP on free loopback ports.

This is the single-machine stand-in for three organisations each running
``privml mpc train SPEC --party I --parties ...`` on its own host: the parties are separate
processes that share nothing but the sockets. The launcher waits for all of them; if one fails,
the others get a short grace period to fail on their own (a mismatch makes all of them exit
with the same message) and are then stopped, and the error names each failed party with the
last error line of its log (``DIR/party<I>/party.log``).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

from privml.crypto.mpc.runtime import MPCError

Command = Literal["train", "predict"]
GRACE_S = 5.0


def free_ports(k: int) -> list[int]:
    """``k`` distinct loopback ports that were free a moment ago (the OS picked them)."""
    socks = []
    try:
        for _ in range(k):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def party_command(command: Command, spec: Path, pid: int, parties: str, out: Path) -> list[str]:
    """The command line that runs party ``pid`` (``python -m privml.cli_mpc ...``)."""
    return [
        sys.executable,
        "-m",
        "privml.cli_mpc",
        command,
        str(spec),
        "--party",
        str(pid),
        "--parties",
        parties,
        "--out",
        str(out),
    ]


def launch(
    command: Command,
    spec: str | Path,
    out: str | Path,
    m: int,
    only: list[int] | None = None,
    spec_for: dict[int, str | Path] | None = None,
) -> list[dict]:
    """Start parties ``only`` (default: all ``m``) locally, wait, return their results.

    ``only`` leaves parties out and ``spec_for`` gives a party its own copy of the spec (as
    separate organisations would have), so tests can stage a no-show or a mismatch. Raises
    ``MPCError`` naming every party that failed, with its last error line.
    """
    out = Path(out)
    ports = free_ports(m)
    parties = ",".join(f"127.0.0.1:{p}" for p in ports)
    pids = list(range(m)) if only is None else only
    procs: dict[int, subprocess.Popen] = {}
    logs = {}
    for pid in pids:
        folder = out / f"party{pid}"
        folder.mkdir(parents=True, exist_ok=True)
        logs[pid] = folder / "party.log"
        with open(logs[pid], "w", encoding="utf-8") as log:
            own = Path((spec_for or {}).get(pid, spec))
            cmd = party_command(command, own, pid, parties, folder)
            procs[pid] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    stopped = _wait(procs)
    failed = sorted(pid for pid, p in procs.items() if p.returncode != 0 and pid not in stopped)
    if failed or stopped:
        lines = [f"party {pid} failed: {_last_error(logs[pid])}" for pid in failed]
        lines += [f"party {pid} was stopped after another party failed" for pid in stopped]
        raise MPCError("\n".join(lines))
    return [json.loads((out / f"party{pid}" / "results.json").read_text()) for pid in pids]


def _wait(procs: dict[int, subprocess.Popen]) -> list[int]:
    """Wait for all; once one fails, give the rest ``GRACE_S``, then stop them (returned)."""
    deadline = None
    while any(p.poll() is None for p in procs.values()):
        if deadline is None and any(p.returncode not in (None, 0) for p in procs.values()):
            deadline = time.monotonic() + GRACE_S
        if deadline is not None and time.monotonic() > deadline:
            stopped = [pid for pid, p in procs.items() if p.poll() is None]
            for pid in stopped:
                procs[pid].terminate()  # only processes this launcher started, by handle
            for p in procs.values():
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            return stopped
        time.sleep(0.1)
    return []


def _last_error(log: Path) -> str:
    """The party's ``error: ...`` line if it printed one, else its last line."""
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    errors = [ln for ln in lines if ln.startswith("error:")]
    if errors:
        return errors[-1].removeprefix("error:").strip()
    return lines[-1] if lines else "(empty log)"
