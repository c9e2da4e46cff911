"""The HE service on loopback: real uvicorn, the predict CLI, and 4xx on bad requests."""

import json
import os
import socket
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path

import httpx
import numpy as np
import pytest
import tenseal as ts
import torch
from typer.testing import CliRunner

from privml.classifiers.recipe import Recipe
from privml.cli_he import he_app
from privml.crypto.he.context import make_context, public_context_bytes
from privml.crypto.he.frames import encode_frame
from privml.crypto.he.params import choose_params
from privml.crypto.he.service import background_server, create_app
from privml.crypto.he.train import train_model
from privml.data.adult import COLUMNS, LABEL, load_adult

LIMIT = 40 * 2**20  # above one LR batch (~27 MiB), so an oversize request is easy to make
ROWS = 200


class RecordingSessions(OrderedDict):
    """The server's session store, keeping every context it was ever given."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __setitem__(self, key, value):
        self.seen.append(value)
        super().__setitem__(key, value)


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    tr = load_adult("train")
    idx = np.random.default_rng(1).choice(len(tr), 3000, replace=False)
    recipe = Recipe(epochs=2, lr=1e-2)
    return train_model("logreg", tr.X[idx], tr.y[idx], tr.feature_names, seed=1, recipe=recipe)[1]


@pytest.fixture(scope="module")
def server(model):
    app = create_app(model, max_request_bytes=LIMIT, n_threads=1)
    app.state.he.sessions = RecordingSessions()
    with background_server(app) as url:
        yield app, url, int(url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def adult_file(tmp_path_factory):
    te = load_adult("test")
    path = tmp_path_factory.mktemp("he") / "adult_head.csv"
    lines = [", ".join([*COLUMNS, LABEL])]
    for row, label in zip(te.raw[:ROWS], te.y[:ROWS], strict=True):
        fields = [str(int(v)) if isinstance(v, float) else v for v in row]
        lines.append(", ".join([*fields, ">50K" if label else "<=50K"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, te.X[:ROWS]


def test_predict_cli_on_loopback(server, model, adult_file, tmp_path):
    app, url, _ = server
    data, X = adult_file
    out = tmp_path / "pred.csv"
    res = CliRunner().invoke(he_app, ["predict", "--server", url, str(data), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "secret key: not sent" in res.output and "B/sample" in res.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    assert rows[0] == ["row", "score", "probability", "label", "y"]
    scores = np.array([float(r[1]) for r in rows[1:]])
    plain = model.plain_scores(X)
    assert len(scores) == ROWS
    assert np.abs(scores - plain).max() < 1e-3
    assert ((scores > 0) == (plain > 0)).mean() >= 0.995
    # Every context the server ever held was public: no secret key, cannot decrypt.
    seen = app.state.he.sessions.seen
    assert seen and all(not s.context.is_private() for s in seen)
    assert all(not s.context.has_secret_key() for s in seen)
    assert len(app.state.he.sessions) == 0  # the client closed its session


def _session(url: str, galois: bool = False) -> str:
    ctx = make_context(choose_params(1), relin=False, galois=galois, n_threads=1)
    body = public_context_bytes(ctx, relin=False, galois=galois)
    resp = httpx.post(f"{url}/v1/sessions", content=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["session_id"]


def test_server_cannot_decrypt(server):
    app, url, _ = server
    sid = _session(url)
    ctx = app.state.he.sessions[sid].context
    assert not ctx.is_private() and ctx.is_public()
    with pytest.raises(ValueError):
        ctx.secret_key()


def test_malformed_requests_get_4xx_with_reason(server, model):
    _, url, _ = server
    sid = _session(url)
    predict = f"{url}/v1/sessions/{sid}/predict"
    cases = [
        (predict, b"garbage, not a frame", 400, "magic"),
        (predict, encode_frame([b"x" * 10])[:-3], 400, "declares"),
        (predict, encode_frame([b"not a ciphertext"] * model.n_features), 400, "ciphertexts[0]"),
        (f"{url}/v1/sessions/nope/predict", encode_frame([b"x"]), 404, "session"),
        (f"{url}/v1/sessions", b"\x00" * 100, 400, "cannot deserialize"),
    ]
    for target, body, status, reason in cases:
        resp = httpx.post(target, content=body)
        assert resp.status_code == status, (target, resp.text)
        assert reason in resp.json()["detail"]
    # Well-formed but not what the model needs: one ciphertext instead of one per feature.
    ctx = make_context(choose_params(1), relin=False, galois=False, n_threads=1)
    one = encode_frame([ts.ckks_vector(ctx, [1.0]).serialize()])
    resp = httpx.post(predict, content=one)
    assert resp.status_code == 422 and "ciphertexts: columns layout needs" in resp.json()["detail"]
    resp = httpx.post(predict, params={"layout": "rows"}, content=one)
    assert resp.status_code == 422 and "Galois" in resp.json()["detail"]
    resp = httpx.post(predict, params={"layout": "diagonal"}, content=one)
    assert resp.status_code == 422
    secret = ctx.serialize(save_secret_key=True)
    resp = httpx.post(f"{url}/v1/sessions", content=secret)
    assert resp.status_code == 400 and "secret key" in resp.json()["detail"]


def test_oversize_request_gets_413(server):
    _, url, port = server
    sid = _session(url)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        head = (
            f"POST /v1/sessions/{sid}/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {LIMIT + 1}\r\n\r\n"
        )
        s.sendall(head.encode() + b"\x00" * 1024)
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 413 " in status_line
    detail = json.loads(rest.split(b"\r\n\r\n", 1)[1])["detail"]
    assert "exceed" in detail and str(LIMIT) in detail

    def chunks():  # no Content-Length: cut off once past the limit
        block = b"\x00" * 2**20
        for _ in range(LIMIT // len(block) + 2):
            yield block

    resp = httpx.post(f"{url}/v1/sessions", content=chunks(), timeout=60)
    assert resp.status_code == 413 and "limit" in resp.json()["detail"]


def test_serve_command_in_subprocess(model, adult_file, tmp_path):
    path = model.save(tmp_path / "lr.npz")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "PRIVML_HE_THREADS": "1"}
    cmd = [sys.executable, "-m", "privml.cli_he", "serve", str(path), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                info = httpx.get(f"{url}/v1/model").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        assert info["params"] == choose_params(1).to_dict()
        assert info["layouts"]["columns"] == {"relin_keys": False, "galois_keys": False}
        data, X = adult_file
        out = tmp_path / "pred.jsonl"
        res = CliRunner().invoke(he_app, ["predict", "--server", url, str(data), "--out", str(out)])
        assert res.exit_code == 0, res.output
        scores = np.array([json.loads(line)["score"] for line in out.read_text().splitlines()])
        assert np.abs(scores - model.plain_scores(X)).max() < 1e-3
    finally:
        proc.terminate()
        proc.wait(10)
    assert Path(out).exists()
