"""Benchmark: whole-mesh agent-steps per second (`meshjax.mesh`).

One step of `meshjax.mesh.step` on a full mesh (every agent present): task choice and
thresholds (9)-(10), learning by doing, one diffusion step of (11), the routing table
(best neighbour per agent and type), one query per agent routed greedily and settled,
autocatalytic operations (|R| = 4, f = 0.05), variety bookkeeping. The mesh is first grown
to capacity by `simulate` (Bianconi-Barabasi arrivals, m = 3); the timed call is a
`lax.scan` of `steps` steps from that state. Work = agents x steps. No peer library
simulates this model, so there is no peer row.

    python -m benchmarks.bench_mesh [--quick] [--large]
"""

from __future__ import annotations

import argparse

import jax
import jax.random as jr

from benchmarks._harness import print_table, row, time_call, write_json
from meshjax import mesh


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N = 10^5 only")
    ap.add_argument("--large", action="store_true", help="also N = 10^7 (GPU)")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args(argv)
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    if args.large:
        sizes.append(10_000_000)
    J, m, R, H = 8, 3, 4, 8
    params = mesh.MeshParams(growth=0.25, raf_f=0.05)
    rows = []
    for n in sizes:
        grow = 40 + 10 * len(str(n))  # enough steps to fill the capacity
        grown = mesh.simulate(
            jr.key(0), params, n_agents=n, n_steps=grow, record_every=grow,
            n_types=J, m=m, raf_ops=R, max_hops=H, max_arrivals=n // 8,
        )  # fmt: skip
        st0 = grown.final
        assert int(st0.n_present) == n, int(st0.n_present)

        @jax.jit
        def run(st, key):
            def body(s, k):
                return mesh.step(k, s, params), None

            return jax.lax.scan(body, st, jr.split(key, args.steps))[0]

        t = time_call(lambda: run(st0, jr.key(1)).capability, repeat=3, warmup=0)
        size = {"N": n, "J": J, "m": m, "R": R, "H": H, "steps": args.steps}
        rows.append(row("mesh", "step", "meshjax", size, t, n * args.steps,
                        "agent-steps/s"))  # fmt: skip
    print(f"jax {jax.__version__} on {jax.devices()[0]}")
    print_table(rows)
    write_json(rows, "benchmarks/out/mesh.json")
    return rows


if __name__ == "__main__":
    main()
