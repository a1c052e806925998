r"""Knowledge diffusion, §5: Lemma 5.1 (12), bandwidth (13), and the vanishing SIS
threshold (14) / Proposition 5.2 on power-law graphs.

Tables:
  decay     — $\|u(t) - \bar u 1\|$ beside $e^{-\lambda_2 t}\|u(0) - \bar u 1\|$ (random and
              Fiedler-vector starts) on a BA graph and a random regular graph.
  spectral  — $\lambda_2$ of the giant component vs $N$ and $\langle k\rangle$ for ER, BA and
              power-law (Chung–Lu) graphs, with the giant fraction and Lanczos status.
  bandwidth — $B_{\rm mesh} = N\langle k\rangle$ vs $B_{\rm hub}$ and the crossing $N$ (13).
  sis       — QS prevalence and susceptibility vs $\lambda$ per $(\gamma, N)$.
  metrics   — per $(\gamma, N)$: $\lambda_c$ from the $\chi$ peak, HMF $\langle k\rangle/
              \langle k^2\rangle$, QMF $1/\lambda_{\max}(A)$, $k_{\max}$.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .. import diffusion, epidemic, graph as mg
from .._results import RESULTS
from ._base import Context, Experiment, Finding, Result

DEFAULTS = {
    "decay_n": 2000,
    "decay_degree": 4,
    "decay_decades": 4.0,
    "decay_points": 31,
    "spectral_families": ["er", "ba", "power_law"],
    "spectral_sizes": [1000, 10000],
    "spectral_degrees": [4, 8],
    "spectral_base_degree": 8,
    "spectral_gamma": 2.5,
    "sis_gammas": [2.3, 2.7, 3.5],
    "sis_sizes": [3000, 10000],
    "sis_mean_degree": 6.0,
    "sis_rate_min": 0.01,
    "sis_rate_max": 0.6,
    "sis_rate_count": 14,
    "sis_replicas": 2,
    "sis_time": 150.0,
    "sis_dt": 0.1,
    "sis_qs": "reflect",
    "hub_bandwidth": 1.0e6,
}


def validate(p) -> None:
    def pos_int(name, lo=1):
        if int(p[name]) < lo:
            raise ValueError(f"`{name}`={p[name]}; allowed: >= {lo}")

    for name in (
        "decay_n",
        "decay_points",
        "spectral_base_degree",
        "sis_rate_count",
        "sis_replicas",
    ):
        pos_int(name, 3 if name == "sis_rate_count" else 1)
    if p["decay_n"] < 10:
        raise ValueError(f"`decay_n`={p['decay_n']}; allowed: >= 10")
    for name in (
        "decay_decades",
        "sis_time",
        "sis_dt",
        "sis_rate_min",
        "sis_mean_degree",
        "hub_bandwidth",
    ):
        if not (float(p[name]) > 0 and math.isfinite(float(p[name]))):
            raise ValueError(f"`{name}`={p[name]}; allowed: finite > 0")
    if p["sis_rate_max"] <= p["sis_rate_min"]:
        raise ValueError(f"`sis_rate_max`={p['sis_rate_max']}; allowed: > sis_rate_min")
    if p["sis_time"] / p["sis_dt"] < 20:
        raise ValueError("`sis_time / sis_dt` must be >= 20 steps")
    for fam in p["spectral_families"]:
        if fam not in ("er", "ba", "power_law"):
            raise ValueError(
                f"`spectral_families` has {fam!r}; allowed: er, ba, power_law"
            )
    for g in list(p["sis_gammas"]) + [p["spectral_gamma"]]:
        if not float(g) > 2:
            raise ValueError(f"gamma={g}; allowed: > 2")
    for n in list(p["sis_sizes"]) + list(p["spectral_sizes"]):
        if int(n) < 50:
            raise ValueError(f"size {n}; allowed: >= 50")
    if p["sis_qs"] not in epidemic.QS_METHODS:
        raise ValueError(f"`sis_qs`={p['sis_qs']!r}; allowed: {epidemic.QS_METHODS}")


def _family_graph(key, fam: str, n: int, k: float, gamma: float) -> mg.Graph:
    if fam == "er":
        return mg.erdos_renyi(key, n, float(k))
    if fam == "ba":
        return mg.barabasi_albert(key, n, max(1, int(round(k / 2))))
    return mg.power_law(key, n, float(gamma), float(k))


def _spectral_status(fr) -> str:
    if bool(fr.status == RESULTS.disconnected):
        return "disconnected"
    return "converged" if bool(fr.status == RESULTS.successful) else "not converged"


def run(params, ctx: Context) -> Result:
    p = {**DEFAULTS, **params}
    validate(p)
    key = jr.key(ctx.seed)
    tables: dict[str, list[dict]] = {}
    findings: list[Finding] = []
    extras: dict = {}

    # --- Lemma 5.1 -----------------------------------------------------------------------
    t0 = time.perf_counter()
    decay_rows = []
    worst_excess, worst_ratio = 0.0, 0.0
    rates = {}
    for gname, g in (
        (
            "ba",
            mg.barabasi_albert(
                jr.fold_in(key, 1), p["decay_n"], max(1, p["decay_degree"] // 2)
            ),
        ),
        (
            "rrg",
            mg.giant_component(
                mg.random_regular(jr.fold_in(key, 2), p["decay_n"], p["decay_degree"])
            ).graph,
        ),
    ):
        fr = diffusion.fiedler(g)
        lam2 = float(fr.value)
        # run until the bound has fallen by `decay_decades` decades (float32-safe for 4)
        times = np.linspace(
            0.0, p["decay_decades"] * math.log(10) / lam2, p["decay_points"]
        )
        u_rand = np.asarray(jr.normal(jr.fold_in(key, 3), (g.n_nodes,)))
        u0 = np.stack([u_rand, 1.0 + np.asarray(fr.vector)], axis=1)
        curve = diffusion.consensus_decay(g, u0, times, lambda2=lam2)
        d, b = np.asarray(curve.distance), np.asarray(curve.bound)
        worst_excess = max(worst_excess, float(np.max((d - b) / b[0])))
        worst_ratio = max(worst_ratio, float(np.max(d / b)))
        late = slice(len(times) // 2, None)
        slope = -np.polyfit(times[late], np.log(np.maximum(d[late, 0], 1e-300)), 1)[0]
        rates[gname] = (lam2, slope)
        for i, t in enumerate(times):
            for j, start in enumerate(("random", "fiedler")):
                decay_rows.append(
                    {
                        "graph": gname,
                        "n": g.n_nodes,
                        "lambda2": lam2,
                        "start": start,
                        "t": float(t),
                        "distance": float(d[i, j]),
                        "bound": float(b[i, j]),
                    }
                )
    tables["decay"] = decay_rows
    ctx.log(f"decay curves: {time.perf_counter() - t0:.1f}s")
    findings.append(
        Finding(
            "Lemma 5.1 / eq. (12): ||u(t) - ū1|| <= e^{-λ2 t} ||u(0) - ū1||",
            "supported" if worst_excess <= 1e-4 else "not supported",
            f"max distance/bound over all t and starts = {worst_ratio:.6f}, max excess "
            f"(d - bound)/d(0) = {worst_excess:.2e} (BA and random regular, "
            f"n≈{p['decay_n']}); equality for the Fiedler-vector start; late-time decay rate of "
            "a random start vs λ2: "
            + ", ".join(f"{k}: {s:.4f} vs {lam:.4f}" for k, (lam, s) in rates.items())
            + ".",
        )
    )

    # --- λ2 vs N and <k> -------------------------------------------------------------------
    t0 = time.perf_counter()
    spec_rows = []
    combos = [(n, p["spectral_base_degree"]) for n in p["spectral_sizes"]]
    if p["spectral_sizes"]:  # an empty list skips the sweep
        big = max(p["spectral_sizes"])
        combos += [
            (big, k) for k in p["spectral_degrees"] if k != p["spectral_base_degree"]
        ]
    for fi, fam in enumerate(p["spectral_families"]):
        for ci, (n, k) in enumerate(combos):
            g = _family_graph(
                jr.fold_in(key, 100 + 10 * fi + ci),
                fam,
                int(n),
                float(k),
                float(p["spectral_gamma"]),
            )
            giant = mg.giant_component(g)
            gc, frac = giant.graph, float(giant.fraction)
            ts = time.perf_counter()
            fr = diffusion.fiedler(gc, max_restarts=300)
            kmin = int(jnp.min(gc.degrees()))
            spec_rows.append(
                {
                    "family": fam,
                    "n": int(n),
                    "mean_degree": float(k),
                    "giant_fraction": frac,
                    "n_giant": gc.n_nodes,
                    "lambda2": float(fr.value),
                    "residual": float(fr.residual),
                    "status": _spectral_status(fr),
                    "n_matvec": int(fr.n_matvec),
                    "min_degree_giant": kmin,
                    "seconds": time.perf_counter() - ts,
                }
            )
    tables["spectral"] = spec_rows
    ctx.log(f"lambda2 sweep: {time.perf_counter() - t0:.1f}s")
    detail = "; ".join(
        f"{r['family']} N={r['n']} <k>={r['mean_degree']:g}: λ2={r['lambda2']:.4g}"
        f" (giant {r['giant_fraction']:.3f}, {r['status']})"
        for r in spec_rows
    )
    findings.append(
        Finding(
            "§5.1: consensus rate λ2 > 0 for connected meshes",
            "info",
            "λ2 of the whole graph is 0 whenever the giant fraction is < 1 (ER and power-law "
            "graphs at these <k> are disconnected); on the giant component: " + detail,
        )
    )

    # --- bandwidth (13) --------------------------------------------------------------------
    ns = np.unique(np.geomspace(1e2, 1e7, 11).astype(np.int64))
    kbar = p["sis_mean_degree"]
    bw = np.asarray(diffusion.mesh_bandwidth(ns, kbar))
    n_x = float(diffusion.bandwidth_crossing(p["hub_bandwidth"], kbar))
    tables["bandwidth"] = [
        {
            "n": int(n),
            "mean_degree": kbar,
            "b_mesh": float(b),
            "b_hub": p["hub_bandwidth"],
            "mesh_exceeds_hub": bool(b > p["hub_bandwidth"]),
        }
        for n, b in zip(ns, bw)
    ]
    findings.append(
        Finding(
            "Eq. (13): B_mesh = N<k> exceeds B_hub once N > B_hub/<k>",
            "info",
            f"with <k>={kbar:g} and unit links, N× = {n_x:.3g}. This is capacity counting; "
            "the rate at which knowledge equalises is λ2, which does not grow with N (table "
            "spectral).",
        )
    )

    # --- SIS on power-law graphs ----------------------------------------------------------
    t0 = time.perf_counter()
    rates_grid = np.geomspace(p["sis_rate_min"], p["sis_rate_max"], p["sis_rate_count"])
    n_steps = int(round(p["sis_time"] / p["sis_dt"]))
    sis_rows, metric_rows = [], []
    for gi, gamma in enumerate(p["sis_gammas"]):
        for ni, n in enumerate(p["sis_sizes"]):
            g = mg.power_law(
                jr.fold_in(key, 1000 + 10 * gi + ni),
                int(n),
                float(gamma),
                float(p["sis_mean_degree"]),
            )
            deg = g.degrees()
            ts = time.perf_counter()
            res = epidemic.sis(
                jr.fold_in(key, 2000 + 10 * gi + ni),
                g,
                rates_grid,
                1.0,
                n_steps=n_steps,
                dt=p["sis_dt"],
                n_burn=n_steps // 3,
                replicas=p["sis_replicas"],
                qs=p["sis_qs"],
                record_every=max(1, n_steps // 100),
            )
            rho = np.asarray(res.pooled_prevalence)
            chi = np.asarray(res.pooled_susceptibility)
            lam_chi = float(epidemic.susceptibility_peak(rates_grid, chi))
            lam_hmf = float(epidemic.threshold_hmf(g))
            lam_qmf = float(epidemic.threshold_qmf(g))
            sec = time.perf_counter() - ts
            for lam, r, c in zip(rates_grid, rho, chi):
                sis_rows.append(
                    {
                        "gamma": float(gamma),
                        "n": int(n),
                        "rate": float(lam),
                        "prevalence": float(r),
                        "chi": float(c),
                    }
                )
            metric_rows.append(
                {
                    "gamma": float(gamma),
                    "n": int(n),
                    "k_max": int(jnp.max(deg)),
                    "mean_degree": float(jnp.mean(deg.astype(float))),
                    "lambda_c_chi": lam_chi,
                    "lambda_c_hmf": lam_hmf,
                    "lambda_c_qmf": lam_qmf,
                    "peak_at_grid_edge": bool(
                        lam_chi in (rates_grid[0], rates_grid[-1])
                    ),
                    "seconds": sec,
                }
            )
            ctx.log(
                f"SIS gamma={gamma} N={n}: λc(χ)={lam_chi:.4g} HMF={lam_hmf:.4g} "
                f"QMF={lam_qmf:.4g} ({sec:.1f}s)"
            )
    tables["sis"] = sis_rows
    tables["metrics"] = metric_rows
    ctx.log(f"SIS sweep: {time.perf_counter() - t0:.1f}s")
    for gamma in p["sis_gammas"]:
        rows = sorted(
            (r for r in metric_rows if r["gamma"] == gamma), key=lambda r: r["n"]
        )
        if len(rows) < 2:
            continue
        chis = [r["lambda_c_chi"] for r in rows]
        dec = all(b < a for a, b in zip(chis, chis[1:]))
        hmf = [r["lambda_c_hmf"] for r in rows]
        qmf = [r["lambda_c_qmf"] for r in rows]
        txt = (
            f"γ={gamma}: N={[r['n'] for r in rows]}, λc(χ peak)="
            f"{[round(c, 4) for c in chis]}, HMF={[round(h, 4) for h in hmf]}, "
            f"QMF={[round(q, 4) for q in qmf]}"
        )
        if gamma <= 3:
            findings.append(
                Finding(
                    f"Prop. 5.2 / eq. (14): SIS threshold vanishes with N for γ={gamma} <= 3",
                    "supported" if dec else "inconclusive",
                    txt
                    + (
                        " — falls with N."
                        if dec
                        else " — no monotone fall over this range."
                    ),
                )
            )
        else:
            findings.append(
                Finding(
                    f"Eq. (14) for γ={gamma} > 3: the chapter implies a finite threshold",
                    "info",
                    txt
                    + ". HMF stays finite; QMF 1/λmax(A) ~ 1/sqrt(k_max) still falls with "
                    "N (hub stars; Chatterjee & Durrett 2009 prove λc -> 0 for every γ)."
                    + (" The χ peak falls too." if dec else ""),
                )
            )
    findings.append(
        Finding(
            "Prop. 5.2: 'any nonzero rate sustains itself' (γ <= 3)",
            "info",
            "At finite N the threshold is positive; just above it the QS prevalence is tiny "
            "(localised on hubs) — see table sis. The statement holds only as N -> ∞ and for "
            "SIS (re-infectable) spreading, not for Laplacian diffusion (11).",
        )
    )
    extras.update(rates=rates_grid)
    return Result(tables=tables, findings=findings, extras=extras)


def plot(result: Result, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    paths = []
    rows = result.tables["decay"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for gname in sorted({r["graph"] for r in rows}):
        for start, ls in (("random", "-"), ("fiedler", ":")):
            sel = [r for r in rows if r["graph"] == gname and r["start"] == start]
            t = [r["t"] for r in sel]
            (line,) = ax.semilogy(
                t, [r["distance"] for r in sel], ls, label=f"{gname}, {start} start"
            )
            ax.semilogy(
                t, [r["bound"] for r in sel], "--", color=line.get_color(), alpha=0.5
            )
    ax.set_xlabel("t")
    ax.set_ylabel("||u(t) - ū1||  (dashed: bound (12))")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / "decay.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    rows = result.tables["spectral"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for fam in sorted({r["family"] for r in rows}):
        sel = sorted(
            (r for r in rows if r["family"] == fam),
            key=lambda r: (r["n"], r["mean_degree"]),
        )
        ax.scatter(
            [r["mean_degree"] for r in sel], [r["lambda2"] for r in sel], label=fam
        )
        for r in sel:
            ax.annotate(f"N={r['n']}", (r["mean_degree"], r["lambda2"]), fontsize=6)
    ax.set_xlabel("<k>")
    ax.set_ylabel("λ2 (giant component)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    paths.append(out_dir / "lambda2.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    rows, met = result.tables["sis"], result.tables["metrics"]
    gammas = sorted({r["gamma"] for r in rows})
    fig, axes = plt.subplots(
        2, len(gammas), figsize=(4 * len(gammas), 6), squeeze=False
    )
    for j, gamma in enumerate(gammas):
        for n in sorted({r["n"] for r in rows if r["gamma"] == gamma}):
            sel = [r for r in rows if r["gamma"] == gamma and r["n"] == n]
            m = next(r for r in met if r["gamma"] == gamma and r["n"] == n)
            (line,) = axes[0, j].loglog(
                [r["rate"] for r in sel],
                [max(r["prevalence"], 1e-7) for r in sel],
                "o-",
                label=f"N={n}",
            )
            axes[1, j].semilogx(
                [r["rate"] for r in sel],
                [r["chi"] for r in sel],
                "o-",
                color=line.get_color(),
            )
            for ax in axes[:, j]:
                ax.axvline(m["lambda_c_hmf"], color=line.get_color(), ls="--", lw=0.8)
                ax.axvline(m["lambda_c_qmf"], color=line.get_color(), ls=":", lw=0.8)
        axes[0, j].set_title(f"γ = {gamma} (-- HMF, : QMF)")
        axes[0, j].legend(fontsize=7)
        axes[1, j].set_xlabel("λ = β/μ")
    axes[0, 0].set_ylabel("QS prevalence")
    axes[1, 0].set_ylabel("χ")
    fig.tight_layout()
    paths.append(out_dir / "sis.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


EXPERIMENT = Experiment(
    name="knowledge_diffusion",
    description="§5: Laplacian decay vs the λ2 bound, λ2 across graph families, bandwidth "
    "(13), SIS thresholds on power-law graphs (14, Prop. 5.2)",
    defaults=DEFAULTS,
    run=run,
    validate=validate,
    plot=plot,
)

del jax
