"""The HE inference service: a FastAPI app that evaluates a model on a client's ciphertexts.

Protocol (JSON for metadata, binary frames from ``frames`` for ciphertexts):

* ``GET /v1/model``: the model's kind, feature names, depth, CKKS parameters, which keys each
  layout needs, the score's meaning and the request size limit.
* ``POST /v1/sessions`` with the client's *public* TenSEAL context (octet-stream) -> 201
  ``{"session_id": ...}``. Keys are uploaded once per session, not with every batch. A context
  holding a secret key, another scheme or other parameters is refused (400/422).
* ``POST /v1/sessions/{id}/predict?layout=columns|rows`` with a frame of ciphertexts -> a frame
  of encrypted scores: one ciphertext (all samples' scores in slots) for ``columns``, one per
  sample for ``rows``.
* ``DELETE /v1/sessions/{id}``.

The server holds no secret key and cannot decrypt anything it receives or returns. Bodies above
``max_request_bytes`` get 413 (the Content-Length is checked before reading; a body without one
is cut off once it passes the limit); malformed bodies get 400, well-formed requests that do not
fit the model get 422, unknown sessions 404; every error carries ``{"detail": reason}``.
Sessions live in memory, at most ``max_sessions`` (the oldest is dropped first); evaluations
run one at a time in a worker thread (each can hold hundreds of MB of ciphertexts).
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import tenseal as ts
from fastapi import FastAPI, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from privml.crypto.he.context import HEContextError, load_public_context, load_vectors
from privml.crypto.he.frames import FrameError, decode_frame, encode_frame
from privml.crypto.he.model import HEModel, HEModelError
from privml.crypto.he.params import HEParams, choose_params, validate

DEFAULT_MAX_REQUEST_BYTES = 256 * 2**20
DEFAULT_MAX_SESSIONS = 4
MAX_ROWS_PER_REQUEST = 4096
OCTETS = "application/octet-stream"


@dataclass
class Session:
    """One client's public context (public, relin and maybe Galois keys; no secret key)."""

    context: ts.Context
    context_bytes: int


@dataclass
class ServiceState:
    model: HEModel
    params: HEParams
    max_request_bytes: int
    max_sessions: int
    n_threads: int | None
    sessions: OrderedDict[str, Session] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    compute: threading.Semaphore = field(default_factory=lambda: threading.BoundedSemaphore(1))


def create_app(
    model: HEModel,
    params: HEParams | None = None,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    n_threads: int | None = None,
) -> FastAPI:
    """The service for ``model``; ``params`` default to ``choose_params(model.depth)`` and are
    otherwise validated (too weak or too shallow for the model: an error naming the field)."""
    params = choose_params(model.depth) if params is None else validate(params, model.depth)
    if model.n_features > params.slots:
        raise HEModelError(f"model: {model.n_features} features exceed {params.slots} slots")
    if max_request_bytes < 1:
        raise ValueError(f"max_request_bytes: must be >= 1, got {max_request_bytes}")
    if max_sessions < 1:
        raise ValueError(f"max_sessions: must be >= 1, got {max_sessions}")
    app = FastAPI(title="privml HE inference", docs_url=None, redoc_url=None)
    state = ServiceState(model, params, max_request_bytes, max_sessions, n_threads)
    app.state.he = state

    @app.get("/v1/model")
    def model_info() -> dict:
        return {
            "kind": model.kind,
            "n_features": model.n_features,
            "feature_names": list(model.feature_names),
            "depth": model.depth,
            "params": params.to_dict(),
            "score": "logit: log-odds of the positive class (label 1 if score > 0)",
            "layouts": {
                lay: {
                    "relin_keys": model.needs_relin_keys,
                    "galois_keys": model.needs_galois_keys(lay),
                }
                for lay in ("columns", "rows")
            },
            "max_request_bytes": max_request_bytes,
            "max_rows_per_request": MAX_ROWS_PER_REQUEST,
        }

    @app.post("/v1/sessions", status_code=201)
    async def new_session(request: Request) -> dict:
        body = await _read_body(request, max_request_bytes)
        try:
            ctx = await run_in_threadpool(load_public_context, body, params, n_threads)
        except HEContextError as e:
            status = 422 if "differ from" in str(e) else 400
            raise HTTPException(status, str(e)) from None
        sid = secrets.token_urlsafe(16)
        with state.lock:
            while len(state.sessions) >= max_sessions:
                state.sessions.popitem(last=False)
            state.sessions[sid] = Session(ctx, len(body))
        return {
            "session_id": sid,
            "context_bytes": len(body),
            "relin_keys": ctx.has_relin_keys(),
            "galois_keys": ctx.has_galois_keys(),
        }

    @app.delete("/v1/sessions/{sid}", status_code=204)
    def end_session(sid: str) -> Response:
        with state.lock:
            if state.sessions.pop(sid, None) is None:
                raise HTTPException(404, f"session: unknown id {sid!r}")
        return Response(status_code=204)

    @app.post("/v1/sessions/{sid}/predict")
    async def predict(
        sid: str, request: Request, layout: Literal["columns", "rows"] = Query("columns")
    ) -> Response:
        session = state.sessions.get(sid)
        if session is None:
            raise HTTPException(404, f"session: unknown id {sid!r} (create one first)")
        if model.needs_galois_keys(layout) and not session.context.has_galois_keys():
            raise HTTPException(422, f"layout: {layout} needs Galois keys; the session has none")
        if model.needs_relin_keys and not session.context.has_relin_keys():
            raise HTTPException(422, "context: this model needs relinearization keys")
        body = await _read_body(request, max_request_bytes)
        out = await run_in_threadpool(_evaluate, state, session, body, layout)
        return Response(encode_frame(out), media_type=OCTETS, headers={"X-Count": str(len(out))})

    return app


def _evaluate(state: ServiceState, session: Session, body: bytes, layout: str) -> list[bytes]:
    """Parse, deserialize and evaluate; map each failure to a 4xx with its reason."""
    model = state.model
    max_count = model.n_features if layout == "columns" else MAX_ROWS_PER_REQUEST
    try:
        blobs = decode_frame(body, max_count)
        cts = load_vectors(session.context, blobs, state.params.slots)
    except (FrameError, HEContextError) as e:
        raise HTTPException(400, str(e)) from None
    with state.compute:
        try:
            if layout == "columns":
                return [model.eval_columns(cts).serialize()]
            return [ct.serialize() for ct in model.eval_rows(cts)]
        except HEModelError as e:
            raise HTTPException(422, str(e)) from None
        except (ValueError, RuntimeError, TypeError) as e:  # SEAL: wrong level, scale, ...
            raise HTTPException(422, f"ciphertexts: cannot evaluate them: {e}") from None


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "content-length: must be a non-negative integer")
        if int(declared) > limit:
            raise HTTPException(413, f"body: {declared} bytes exceed the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body: more than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def background_server(app: FastAPI, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its URL, stops on exit."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not srv.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"HE service did not start within {timeout:g} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


def serve(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run ``app`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info")
