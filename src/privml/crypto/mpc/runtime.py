"""Start one MPyC party programmatically, with a bounded wait for the others.

MPyC configures itself from ``sys.argv`` when ``mpyc.runtime`` is first imported (and
``mpyc/__init__`` parses it too), so a privml command line such as ``--out DIR`` would be read
as an ambiguous MPyC option. We therefore import MPyC with a neutral ``sys.argv`` and then call
``mpyc.runtime.setup()`` once more with MPyC's own options (``-P host:port`` per party,
``-I`` this party, ``-T`` threshold), which returns a fresh runtime and rebinds MPyC's modules
to it. Everything in privml uses the runtime returned here, never ``mpyc.runtime.mpc``.

MPyC's ``start()`` retries connections forever; :func:`start` bounds it and names the parties
that did not connect. Bytes are counted by MPyC per peer connection (``nbytes_sent``, payload
plus its 12-byte header); :func:`bytes_sent` sums this party's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class MPCError(RuntimeError):
    """An MPC run that cannot proceed (missing party, mismatched inputs, bad addresses)."""


class Mismatch(MPCError):
    """The parties' public metadata disagree; every party sees it and aborts together."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_parties(text: str) -> list[Address]:
    """``host:port,host:port,...`` -> addresses, in party order (party 0 first)."""
    out: list[Address] = []
    for i, item in enumerate(p.strip() for p in text.split(",")):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise MPCError(f"--parties: item {i} must be host:port, got {item!r}")
        out.append(Address(host, int(port)))
    if len(out) < 3:
        raise MPCError(
            f"--parties: need at least 3 parties for an honest majority with threshold 1, "
            f"got {len(out)}"
        )
    return out


def _import_mpyc() -> Any:
    saved = sys.argv
    sys.argv = [saved[0] if saved else "privml", "--no-log"]
    try:
        import mpyc.runtime
    finally:
        sys.argv = saved
    return mpyc.runtime


def make_runtime(pid: int, parties: list[Address]) -> Any:
    """An MPyC runtime for party ``pid`` of ``parties`` with threshold t = (m-1)//2.

    Semi-honest security with an honest majority: any t parties together learn nothing beyond
    what the protocol outputs to them; t = 1 for three parties.
    """
    m = len(parties)
    if not 0 <= pid < m:
        raise MPCError(f"--party: must be in [0, {m}) for {m} parties, got {pid}")
    module = _import_mpyc()
    argv = [sys.argv[0] if sys.argv else "privml", "--no-log", "-I", str(pid)]
    argv += ["-T", str((m - 1) // 2)]
    for address in parties:
        argv += ["-P", str(address)]
    saved = sys.argv
    sys.argv = argv
    try:
        rt = module.setup()
    finally:
        sys.argv = saved
    mpyc_handler = rt._loop.get_exception_handler()

    def handler(loop: Any, context: dict[str, Any]) -> None:
        # A peer that vanished is reported once, by guarded(); skip asyncio's traceback of it.
        if isinstance(context.get("exception"), ConnectionError):
            return
        mpyc_handler(loop, context)

    rt._loop.set_exception_handler(handler)
    return rt


async def start(rt: Any, timeout_s: float) -> None:
    """Connect to all parties or raise ``MPCError`` naming those that did not connect."""
    try:
        await asyncio.wait_for(rt.start(), timeout_s)
    except TimeoutError:
        missing = [p for p in rt.parties if p.pid != rt.pid and p.protocol is None]
        names = ", ".join(f"party {p.pid} ({p.host}:{p.port})" for p in missing) or "a party"
        raise MPCError(f"{names} did not connect within {timeout_s:g} s") from None
    except OSError as exc:  # e.g. this party's port is taken (TimeoutError is one too)
        me = rt.parties[rt.pid]
        raise MPCError(f"party {rt.pid} cannot listen on {me.host}:{me.port}: {exc}") from None


async def guarded(rt: Any, coro: Coroutine[Any, Any, T], poll_s: float = 0.1) -> T:
    """Run ``coro``; if a peer's connection drops meanwhile, cancel it and raise ``MPCError``.

    MPyC itself would wait forever for the messages of a party that crashed mid-run. Every
    peer found disconnected is named (when one party dies, the others also close their
    connections as they abort, so a late observer may see more than one).
    """
    task = asyncio.ensure_future(coro)
    while True:
        done, _ = await asyncio.wait({task}, timeout=poll_s)
        if done:
            return task.result()
        lost = [p for p in rt.parties if p.pid != rt.pid and _dropped(p.protocol)]
        if lost:
            task.cancel()
            names = ", ".join(f"party {p.pid} ({p.host}:{p.port})" for p in lost)
            raise MPCError(f"lost the connection to {names}")


def _dropped(protocol: Any) -> bool:
    transport = getattr(protocol, "transport", None)
    return protocol is None or transport is None or transport.is_closing()


def bytes_sent(rt: Any) -> int:
    """Bytes this party has sent to all peers so far (MPyC's per-connection counters)."""
    return sum(
        p.protocol.nbytes_sent for p in rt.parties if p.pid != rt.pid and p.protocol is not None
    )


def close(rt: Any) -> None:
    """Close this party's connections without the end-of-run barrier (after an abort)."""
    for p in rt.parties:
        if p.pid != rt.pid and p.protocol is not None and hasattr(p.protocol, "transport"):
            try:
                p.protocol.close_connection()
            except Exception:  # best effort on the way out
                pass


def disagreement(values: list[Any], what: str) -> str | None:
    """A message naming the parties whose ``values`` (one per party) differ, or ``None``.

    The reference is the value most parties hold (party 0's on a tie), so with three parties
    the odd one out is the one named. Every party computes the same message from the same
    public list, so all of them abort with it.
    """
    values = [str(v) for v in values]
    counts = {v: values.count(v) for v in values}
    best = max(counts.values())
    ref = values[0] if counts[values[0]] == best else max(counts, key=counts.__getitem__)
    odd = [i for i, v in enumerate(values) if v != ref]
    if not odd:
        return None
    names = ", ".join(f"party {i} ({values[i][:12]})" for i in odd)
    held = [str(i) for i in range(len(values)) if i not in odd]
    verb = "differs" if len(odd) == 1 else "differ"
    others = f"part{'ies' if len(held) > 1 else 'y'} {', '.join(held)}"
    return f"{what} mismatch: {names} {verb} from {others} ({ref[:12]})"


async def session(rt: Any, timeout_s: float, body: Coroutine[Any, Any, T]) -> T:
    """Connect (bounded), run ``body`` under :func:`guarded`, then shut down.

    On a :class:`Mismatch` every party leaves through MPyC's shutdown barrier together; on any
    other failure this party just closes its connections (the others notice and abort).
    """
    try:
        await start(rt, timeout_s)
    except BaseException:
        body.close()
        raise
    try:
        result = await guarded(rt, body)
    except Mismatch:
        await rt.shutdown()
        raise
    except BaseException:
        close(rt)
        raise
    await rt.shutdown()
    return result
