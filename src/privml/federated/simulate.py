"""Simulation on one machine without Ray: an in-process Flower ``Grid`` in front of the ClientApp.

Flower's own simulation engine (``flwr.simulation.run_simulation``) needs Ray. ``LocalGrid``
implements the ``Grid`` interface the ServerApp uses (``send_and_receive`` and friends) by calling
each node's ClientApp directly, one message at a time, with that node's ``Context`` (its
``partition-id``). The server rounds (:func:`privml.federated.server.run_server`) and the
ClientApp are the very code a deployment runs. A client that raises gets an error reply, as a
SuperNode would send; a client that returns ``None`` sends no reply (it went offline). Each
node's ``Context`` lives as long as the grid, so ``context.state`` carries a client's state from
one message to the next (the SecAgg stages of a round), as a SuperNode keeps it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from flwr.app import Context, Error, Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.task_identity import TaskIdentity

from privml.federated.client_app import app as client_app

ClientFn = Callable[[Message, Context], Message | None]
NODE_ID_BASE = 1_000  # node ids in simulation: partition id + base (never 0, the server's)


class LocalGrid(Grid):
    """A Grid whose nodes are in-process ClientApps, one per partition id."""

    def __init__(self, partitions: int, run_config: dict | None = None, clients=None) -> None:
        """``clients`` maps a partition id to a replacement client callable (tests: faults)."""
        self._run = None
        for name in ("_run_id", "_node_id", "_task_id"):  # the server task's identity
            if getattr(TaskIdentity, name) is None:
                setattr(TaskIdentity, name, 0)
        self._replies: dict[str, Message] = {}
        self._nodes: dict[int, tuple[ClientFn, Context]] = {}
        for pid in range(partitions):
            fn = (clients or {}).get(pid, client_app)
            ctx = Context(
                run_id=0,
                node_id=NODE_ID_BASE + pid,
                node_config={"partition-id": pid, "num-partitions": partitions},
                state=RecordDict(),
                run_config=dict(run_config or {}),
            )
            self._nodes[NODE_ID_BASE + pid] = (fn, ctx)

    def set_run(self, run) -> None:  # noqa: ANN001 (flwr Run)
        self._run = run

    @property
    def run(self):  # noqa: ANN201
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self._nodes)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for msg in messages:
            mid = uuid.uuid4().hex
            msg.metadata.__dict__["_message_id"] = mid
            fn, ctx = self._nodes[msg.metadata.dst_node_id]
            try:
                reply = fn(msg, ctx)
            except Exception as exc:  # noqa: BLE001 (a crashing client is an error reply)
                reason = f"{type(exc).__name__}: {exc}"
                reply = Message(Error(code=2, reason=reason), reply_to=msg)
            if reply is not None:
                self._replies[mid] = reply
            ids.append(mid)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(m) for m in list(message_ids) if m in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))
