"""Split a labelled dataset into clients: IID, or label-skewed with a Dirichlet(α) prior.

Each client is one user (cross-device) or one silo (cross-silo). The split is a pure function of
its arguments and a seed, so the server and every client (each in its own process in a real
deployment) agree on who holds which rows without exchanging them.
"""

from __future__ import annotations

import numpy as np

MIN_ROWS = 2  # a client with fewer rows cannot train a minibatch worth the name


def iid_partition(n_rows: int, n_clients: int, seed: int) -> list[np.ndarray]:
    """Rows shuffled and dealt into ``n_clients`` parts whose sizes differ by at most one."""
    if n_clients < 1 or n_rows < n_clients:
        raise ValueError(f"clients: need 1 <= clients <= rows ({n_rows}), got {n_clients}")
    order = np.random.default_rng(seed).permutation(n_rows)
    return [np.sort(p) for p in np.array_split(order, n_clients)]


def dirichlet_partition(
    y: np.ndarray, n_clients: int, alpha: float, seed: int, min_rows: int = MIN_ROWS
) -> list[np.ndarray]:
    """Label skew (Hsu et al. 2019): for each class, client shares ~ Dirichlet(α·1).

    Small α gives clients few classes; large α approaches IID. Every client first gets
    ``min_rows`` random rows, so none is empty however small α is.
    """
    if not alpha > 0:
        raise ValueError(f"alpha: must be > 0, got {alpha}")
    y = np.asarray(y)
    if n_clients < 1 or len(y) < n_clients * min_rows:
        raise ValueError(
            f"clients: {n_clients} clients need at least {n_clients * min_rows} rows, got {len(y)}"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    floor, rest = order[: n_clients * min_rows], order[n_clients * min_rows :]
    parts: list[list[np.ndarray]] = [[floor[k::n_clients]] for k in range(n_clients)]
    for c in np.unique(y):
        rows = rest[y[rest] == c]
        shares = rng.dirichlet(np.full(n_clients, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
        for k, chunk in enumerate(np.split(rows, cuts)):
            parts[k].append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def partition(
    y: np.ndarray, n_clients: int, scheme: str, alpha: float, seed: int
) -> list[np.ndarray]:
    """Row indices of each client under ``scheme`` (``iid`` or ``dirichlet``)."""
    if scheme == "iid":
        return iid_partition(len(y), n_clients, seed)
    if scheme == "dirichlet":
        return dirichlet_partition(y, n_clients, alpha, seed)
    raise ValueError(f"partition: must be 'iid' or 'dirichlet', got {scheme!r}")


def label_skew(y: np.ndarray, parts: list[np.ndarray]) -> float:
    """Mean total-variation distance between each client's label mix and the global one.

    0 for perfectly IID clients; 1 − (global share of the client's one class) at the extreme.
    """
    y = np.asarray(y)
    classes = np.unique(y)
    overall = np.array([(y == c).mean() for c in classes])
    tv = []
    for p in parts:
        local = np.array([(y[p] == c).mean() for c in classes])
        tv.append(0.5 * np.abs(local - overall).sum())
    return float(np.mean(tv))
