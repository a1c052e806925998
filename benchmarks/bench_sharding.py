"""Edge-sharded graphs: `neighbor_sum` with the slot axis split over 1, 2 and 8 devices.

Rates in slots (directed edges) per second of median wall time, beside the same graph
unsharded on one device. Run standalone, this script forces 8 CPU "devices"
(`jax_num_cpu_devices=8`) before JAX starts. On a CPU those devices share the machine's
cores and memory (2 cores here): each device runs on its own thread, so up to the core
count sharding can use idle cores (one XLA CPU scatter is single-threaded), and beyond it
the rows measure the *overhead* of sharding (one length-n partial node vector per device,
the cross-device all-reduce, threads contending for 2 cores), not a speedup. Real speedups
and the memory split need devices with their own memory and compute (GPUs, TPUs, hosts).
Run from the `python -m benchmarks` runner, the suite uses whatever devices the process
already has and skips device counts it lacks.

    python -m benchmarks.bench_sharding [--quick] [--repeat R]
"""

from __future__ import annotations

import argparse

import jax
import jax.random as jr

from benchmarks._harness import print_table, row, time_call, write_json
from meshjax import graph as G
from meshjax.graph.sharding import replicate, shard_graph
from meshjax.sweep import device_mesh

SUITE = "sharding"


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="n = 10^5 instead of 10^6")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--mean-degree", type=float, default=10.0)
    p.add_argument("--devices", default="1,2,8", help="device counts, comma-separated")
    p.add_argument("--out", default="benchmarks/out/sharding.json")
    args = p.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    kbar = args.mean_degree
    g = G.erdos_renyi(jr.key(0), n, kbar)
    x = jr.normal(jr.key(1), (n,))
    size = {
        "n": n,
        "mean_degree": kbar,
        "slots": g.n_slots,
        "platform": jax.devices()[0].platform,
    }
    f = jax.jit(G.neighbor_sum)
    rows: list[dict] = []
    t = time_call(lambda: f(g, x), repeat=args.repeat)
    rows.append(
        row(SUITE, "neighbor_sum", "meshjax unsharded", size, t, g.n_slots, "slots/s")
    )
    available = jax.device_count()
    for d in (int(s) for s in args.devices.split(",")):
        if d > available:
            print(f"skipping {d} devices: only {available} available")
            continue
        mesh = device_mesh(d, "edges")
        gs = shard_graph(g, mesh)
        xs = replicate(x, mesh)
        t = time_call(lambda gs=gs, xs=xs: f(gs, xs), repeat=args.repeat)
        r = row(
            SUITE,
            "neighbor_sum",
            f"meshjax sharded {d} dev",
            size,
            t,
            g.n_slots,
            "slots/s",
        )
        r["vs_unsharded"] = r["rate"] / rows[0]["rate"]
        rows.append(r)
        del gs, xs
    print_table(rows)
    write_json(rows, args.out)
    return rows


if __name__ == "__main__":
    jax.config.update("jax_num_cpu_devices", 8)
    main()
