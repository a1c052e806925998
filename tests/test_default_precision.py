"""The graph substrate at scale in JAX's *default* configuration (x64 off).

The rest of the suite runs with `jax_enable_x64` on (conftest.py: float64 references),
but users run with it off, and some paths behave differently then: a `device_put` of a
uint64 array silently becomes uint32. That once dropped the row of every pair in the
host assembly of graphs above 2^18 slots (half of each row pointed at node 0), and no
test saw it. Here a fresh process with JAX's defaults builds graphs above that size
through every generator and checks them against NumPy/scipy (structure, symmetry,
components, colouring).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import json, sys
import jax, jax.random as jr, numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as cc
from meshjax import graph as G
assert not jax.config.jax_enable_x64
n = 40_000  # 4·10^5 slots at <k> = 10: above the NumPy fill (2^18 slots)
out = {}
graphs = {
    "er": G.erdos_renyi(jr.key(1), n, 10.0),
    "ba": G.barabasi_albert(jr.key(2), n, 5),
    "power_law": G.power_law(jr.key(3), n, 2.5, 10.0),
}
for name, g in graphs.items():
    s = np.asarray(g.senders).astype(np.int64)
    r = np.asarray(g.receivers).astype(np.int64)
    e = np.asarray(g.edge_ids)
    m = np.ones(s.shape, bool) if g.edge_mask is None else np.asarray(g.edge_mask)
    # the two slots of every edge id are the two directions of one pair
    order = np.argsort(e, kind="stable")
    ids = e[order].reshape(-1, 2)
    so, ro, mo = s[order].reshape(-1, 2), r[order].reshape(-1, 2), m[order].reshape(-1, 2)
    A = sp.coo_matrix((np.ones(int(m.sum())), (r[m], s[m])), shape=(n, n)).tocsr()
    ref_n, ref_lab = cc(A, directed=False)
    lab = np.asarray(G.connected_components(g))
    col = np.asarray(G.colouring(jr.key(0), g))
    out[name] = {
        "slots": int(s.size),
        "ids_paired": bool(np.all(ids[:, 0] == ids[:, 1])),
        "directions": bool(np.array_equal(so[:, 0], ro[:, 1]) and np.array_equal(so[:, 1], ro[:, 0])),
        "mask_paired": bool(np.array_equal(mo[:, 0], mo[:, 1])),
        "rows_sorted": bool(np.all(np.diff(r) >= 0)),
        "symmetric": int(abs(A - A.T).sum()),
        "self_loops": int(np.sum((s == r) & m)),
        "degrees": bool(np.array_equal(np.asarray(g.degrees()), np.bincount(r[m], minlength=n))),
        # the same partition: as many labels, and as many (ours, scipy's) label pairs
        "components": [len(np.unique(lab)), int(ref_n),
                       int(np.unique(np.stack([lab, ref_lab]), axis=1).shape[1])],
        "unique_pairs": int(np.unique(r[m] * n + s[m]).size),
        "colour_conflicts": int(np.sum((col[s] == col[r]) & m)),
        "max_degree": int(np.bincount(r[m], minlength=n).max()),
        "colours": int(col.max() + 1),
    }
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def default_run():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_ENABLE_X64", None)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", ["er", "ba", "power_law"])
def test_large_graphs_are_whole_in_default_precision(default_run, name):
    res = default_run[name]
    assert res["slots"] > 1 << 18  # the compiled fill, not the NumPy one
    assert res["ids_paired"] and res["directions"] and res["mask_paired"]
    assert res["rows_sorted"]
    assert res["symmetric"] == 0 and res["self_loops"] == 0
    assert res["degrees"]
    ours, ref, joint = res["components"]
    assert ours == ref == joint  # the same partition as scipy's
    assert res["colour_conflicts"] == 0
    assert res["colours"] <= res["max_degree"] + 1


def test_default_precision_ba_is_simple(default_run):
    # BA has no mask: simple by construction, m(m+1)/2 + m(n - m - 1) edges
    n, m = 40_000, 5
    ba = default_run["ba"]
    assert ba["slots"] == 2 * (m * (m + 1) // 2 + m * (n - m - 1))
    assert ba["unique_pairs"] == ba["slots"]  # no repeated pair
