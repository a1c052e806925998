"""Scaling curves of the Potts heat bath and discrete SIS: time per sweep/step vs size.

Each size runs in a fresh process (so the peak resident memory belongs to that size):

* Potts: ER ⟨k⟩ = 10, q = 3, β = 0.28, colouring + `PottsModel.build` once, then heat-bath
  sweeps (`lax.fori_loop` of 3 per call) and, in the same process, the NumPy heat bath on
  the same colours (one sweep per call; skipped from 10^7 on);
* SIS: Barabási–Albert m = 3, dt = 0.1, β = 0.2, μ = 1, `epidemic.sis(..., qs="none")`
  with 100 steps per call, and the NumPy + scipy CSR version of the same update.

The exponent b of time ∝ (n + E)^b is fitted on log-log axes over the sizes from 10^5 on
(below, fixed per-call overheads dominate); it should be ≈ 1. Every size records the
1-minute load average (the CPU may be shared with other jobs).

    python -m benchmarks.scaling_models [--sizes 1e4,1e5,1e6,1e7] [--out benchmarks/out]

Writes `scaling_models.json` and a log-log `scaling_models.png` to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = ("potts_sweep", "numpy_potts_sweep", "sis_step", "numpy_sis_step")


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed(fn, reps):
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def _one(n: int, model: str, repeat: int) -> dict:
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np
    from jax import lax

    res = {"n": n, "model": model, "load1": os.getloadavg()[0]}
    reps = repeat if n < 10**7 else 1
    if model == "potts":
        from benchmarks.bench_potts import _numpy_peer
        from meshjax import potts
        from meshjax.graph import colouring, erdos_renyi

        t0 = time.perf_counter()
        g = erdos_renyi(jr.key(0), n, 10.0)
        col = jax.block_until_ready(colouring(jr.key(0), g))
        m = potts.PottsModel.build(g, col, 3)
        res["setup_s"] = time.perf_counter() - t0
        res["n_slots"] = g.n_slots
        res["colours"] = m.num_colours
        del g, col
        s = m.to_internal(potts.init(jr.key(1), m.pgraph, 3).spins)
        b = jnp.float32(0.28)
        sweeps = 3

        @jax.jit
        def hb(m, k, s):
            return lax.fori_loop(
                0, sweeps, lambda t, s: m.heat_bath(jr.fold_in(k, t), s, b), s
            )

        first, med = _timed(lambda: hb(m, jr.key(2), s), reps)
        res["potts_sweep"] = {"median_s": med / sweeps, "first_s": first}
        res["peak_bytes"] = _peak_bytes()
        if n < 10**7:
            peer = _numpy_peer(m)
            rng = np.random.default_rng(0)
            s_np = np.asarray(s).astype(np.int64)
            t = []
            for _ in range(max(reps, 1)):
                t0 = time.perf_counter()
                peer(rng, s_np.copy(), 0.28)
                t.append(time.perf_counter() - t0)
            res["numpy_potts_sweep"] = {"median_s": statistics.median(t)}
    else:
        from benchmarks.bench_epidemic import numpy_sis
        from meshjax import epidemic
        from meshjax.graph import barabasi_albert, to_scipy

        t0 = time.perf_counter()
        g = barabasi_albert(jr.key(0), n, 3)
        jax.block_until_ready(g.senders)
        res["setup_s"] = time.perf_counter() - t0
        res["n_slots"] = g.n_slots
        steps = 100

        def run():
            return epidemic.sis(
                jr.key(1),
                g,
                0.2,
                1.0,
                n_steps=steps,
                dt=0.1,
                qs="none",
                record_every=steps,
            ).qs_prevalence

        first, med = _timed(run, reps)
        res["sis_step"] = {"median_s": med / steps, "first_s": first}
        res["peak_bytes"] = _peak_bytes()
        a = to_scipy(g).astype(np.float32).tocsr()
        rng = np.random.default_rng(0)
        x0 = rng.random(n) < 0.5
        t = []
        for _ in range(max(reps, 1)):
            t0 = time.perf_counter()
            numpy_sis(a, x0, 0.2, 1.0, 0.1, 20, rng)
            t.append((time.perf_counter() - t0) / 20)
        res["numpy_sis_step"] = {"median_s": statistics.median(t)}
    res["load1_end"] = os.getloadavg()[0]
    return res


def _fit(xs, ys) -> float:
    import numpy as np

    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(lx, ly, 1)[0])


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    p.add_argument("--models", default="potts,sis")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default="benchmarks/out")
    p.add_argument("--tag", default="")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per size")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--model", default="potts", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one is not None:
        print(json.dumps(_one(args.one, args.model, args.repeat)), flush=True)
        return []
    sizes = [int(float(v)) for v in args.sizes.split(",")]
    results = []
    for model in args.models.split(","):
        for n in sizes:
            cmd = [
                sys.executable,
                "-m",
                "benchmarks.scaling_models",
                "--one",
                str(n),
                "--model",
                model,
                "--repeat",
                str(args.repeat),
            ]
            try:
                out = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=args.timeout
                )
            except subprocess.TimeoutExpired:
                print(f"[scaling] {model} n={n}: timed out after {args.timeout} s")
                break
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
            if out.returncode != 0 or not lines:
                print(f"[scaling] {model} n={n}: failed (rc {out.returncode})")
                print(out.stderr[-1500:])
                break
            r = json.loads(lines[-1])
            results.append(r)
            cases = [c for c in CASES if c in r]
            print(
                f"[scaling] {model} n={n:>9} load {r['load1']:.2f}: "
                + ", ".join(f"{c} {r[c]['median_s']:.4g} s" for c in cases)
                + f"; peak {r['peak_bytes'] / 2**30:.2f} GiB",
                flush=True,
            )
    if not results:
        return []
    fits = {}
    for c in CASES:
        pts = [
            (r["n"] + r["n_slots"] // 2, r[c]["median_s"]) for r in results if c in r
        ]
        big = [pt for pt in pts if pt[0] >= 10**5]
        use = big if len(big) >= 2 else pts
        if len(use) >= 2:
            fits[c] = _fit(*zip(*use))
    print(
        "\n| model | n | load1 | meshjax s per sweep/step | NumPy peer s | ratio | "
        "updates/s | peak GiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ours = "potts_sweep" if r["model"] == "potts" else "sis_step"
        peer = "numpy_" + ours
        t = r[ours]["median_s"]
        pt = r.get(peer, {}).get("median_s")
        ratio = f"{pt / t:.2f}×" if pt else "—"
        print(
            f"| {r['model']} | {r['n']:.0e} | {r['load1']:.2f} | {t:.4g} | "
            f"{pt if pt is None else f'{pt:.4g}'} | {ratio} | {r['n'] / t:.3g} | "
            f"{r['peak_bytes'] / 2**30:.2f} |"
        )
    print(
        "\nfitted exponents (time ∝ (n + E)^b, n ≥ 1e5): "
        + json.dumps({k: round(v, 3) for k, v in fits.items()})
    )
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = "scaling_models" + (f"_{args.tag}" if args.tag else "")
    (outdir / f"{stem}.json").write_text(
        json.dumps({"results": results, "exponents": fits}, indent=1)
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        for c in CASES:
            pts = [
                (r["n"] + r["n_slots"] // 2, r[c]["median_s"])
                for r in results
                if c in r
            ]
            if not pts:
                continue
            label = f"{c} (b = {fits[c]:.2f})" if c in fits else c
            style = "x--" if c.startswith("numpy") else "o-"
            a1.loglog(*zip(*pts), style, label=label)
        a1.set_xlabel("n + E")
        a1.set_ylabel("median time per sweep / step [s]")
        a1.legend(fontsize=8)
        for model in ("potts", "sis"):
            pts = [
                (r["n"] + r["n_slots"] // 2, r["peak_bytes"] / 2**30)
                for r in results
                if r["model"] == model
            ]
            if pts:
                a2.loglog(*zip(*pts), "o-", label=f"{model} peak RSS")
        a2.set_xlabel("n + E")
        a2.set_ylabel("peak memory [GiB]")
        a2.legend(fontsize=8)
        fig.suptitle("meshjax Potts heat bath (ER <k>=10, q=3) and SIS (BA m=3), CPU")
        fig.tight_layout()
        fig.savefig(outdir / f"{stem}.png", dpi=110)
        print(f"wrote {outdir / f'{stem}.png'}")
    except ImportError:
        print("matplotlib not installed: no PNG")
    return results


if __name__ == "__main__":
    main()
