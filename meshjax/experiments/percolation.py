"""`percolation`: the giant component of §3.1 — measured S on ER graphs beside eq. (3)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.random as jr
import numpy as np

from .. import graph as G, percolation as P
from ._base import Context, Experiment, Finding, Result

DEFAULTS = {
    "n_nodes": [10_000, 100_000],  # graph sizes
    "mean_degree": 5.0,  # <k> of the ER graph before percolation
    "r0_min": 0.25,  # R0 = p <k> grid
    "r0_max": 4.5,
    "n_points": 18,
    "replicas": 3,
}


def _validate(params: Mapping[str, Any]) -> None:
    if not params["n_nodes"] or any(int(n) < 10 for n in params["n_nodes"]):
        raise ValueError(
            f"n_nodes={params['n_nodes']}: need a non-empty list of sizes >= 10"
        )
    if not 0 < params["mean_degree"]:
        raise ValueError(f"mean_degree={params['mean_degree']}: allowed > 0")
    if not 0 <= params["r0_min"] < params["r0_max"] <= params["mean_degree"]:
        raise ValueError(
            f"r0_min={params['r0_min']}, r0_max={params['r0_max']}: need "
            f"0 <= r0_min < r0_max <= mean_degree={params['mean_degree']}"
        )
    if params["n_points"] < 2 or params["replicas"] < 1:
        raise ValueError("n_points must be >= 2 and replicas >= 1")


def _run(params: Mapping[str, Any], ctx: Context) -> Result:
    key = jr.key(ctx.seed)
    kbar = float(params["mean_degree"])
    r0_grid = np.linspace(params["r0_min"], params["r0_max"], params["n_points"])
    rows = []
    for i, n in enumerate(params["n_nodes"]):
        n = int(n)
        g = G.erdos_renyi(jr.fold_in(key, 2 * i), n, kbar)
        realised = 2 * float(g.num_active_edges()) / n
        ps = np.clip(r0_grid / realised, 0.0, 1.0)
        out = P.giant_fraction_sweep(
            jr.fold_in(key, 2 * i + 1), g, ps, replicas=int(params["replicas"])
        )
        for j in range(len(ps)):
            for r in range(int(params["replicas"])):
                rows.append(
                    {
                        "n_nodes": n,
                        "p": float(ps[j]),
                        "r0": float(out.r0[j]),
                        "replica": r,
                        "s_measured": float(out.s_measured[j, r]),
                        "s_theory": float(out.s_theory[j]),
                    }
                )
        ctx.log(f"percolation: n={n} done")
    return Result(tables={"metrics": rows}, findings=_findings(rows))


def _findings(rows) -> list[Finding]:
    n_max = max(r["n_nodes"] for r in rows)
    big = [r for r in rows if r["n_nodes"] == n_max]
    window = [r for r in big if 1.5 <= r["r0"] <= 4.0]
    out = []
    if window:
        err = max(abs(r["s_measured"] - r["s_theory"]) for r in window)
        out.append(
            Finding(
                "Prop. 3.1 / eq. (3): S_inf = 1 - exp(-R0 S_inf) for R0 > 1",
                "supported" if err < 0.01 else "not supported",
                f"ER, n={n_max}: max |S_measured - S_theory| = {err:.4f} over "
                f"{len(window)} runs with R0 in [1.5, 4] (tolerance 0.01).",
            )
        )
    sub = {}
    for r in rows:
        if r["r0"] < 0.8:
            sub.setdefault(r["n_nodes"], []).append(r["s_measured"])
    if len(sub) >= 2:
        sizes = sorted(sub)
        means = [float(np.mean(sub[n])) for n in sizes]
        falling = all(a > b for a, b in zip(means, means[1:]))
        out.append(
            Finding(
                "Prop. 3.1(b): no giant component for R0 < 1",
                "supported" if falling else "inconclusive",
                "largest-component fraction at R0 < 0.8 falls with n: "
                + ", ".join(f"n={n}: {m:.2e}" for n, m in zip(sizes, means))
                + ".",
            )
        )
    return out


def _plot(result: Result, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.tables["metrics"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for n in sorted({r["n_nodes"] for r in rows}):
        sel = [r for r in rows if r["n_nodes"] == n]
        ax.plot(
            [r["r0"] for r in sel],
            [r["s_measured"] for r in sel],
            ".",
            alpha=0.6,
            label=f"measured, n={n}",
        )
    theory = sorted({(r["r0"], r["s_theory"]) for r in rows})
    ax.plot([t[0] for t in theory], [t[1] for t in theory], "k-", label="eq. (3)")
    ax.set_xlabel(r"$R_0 = p\langle k\rangle$")
    ax.set_ylabel(r"giant component fraction $S_\infty$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "percolation_s_inf.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


EXPERIMENT = Experiment(
    name="percolation",
    description="Giant component on ER graphs under bond percolation vs eq. (3) (§3.1)",
    defaults=DEFAULTS,
    run=_run,
    validate=_validate,
    plot=_plot,
)
