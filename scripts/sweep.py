"""A sweep script for batch jobs: one machine or several (Slurm, mpirun).

    python scripts/sweep.py --out sweep_out [--points 10000] [--replicas 4]
    srun python scripts/sweep.py --out /shared/sweep_out        # several hosts (Slurm)
    mpirun -n 4 python scripts/sweep.py --out /shared/sweep_out  # several hosts (MPI)

Every process runs this same script. `meshjax.distributed.initialize()` reads the job
layout from the environment (nothing happens for a single process); the sweep then
spreads each chunk over every device of every host. Process 0 writes the checkpoints and
the CSV, so `--out` must be on a filesystem process 0 can write; rerunning the same
command resumes from the checkpoints.

The swept model is the giant-component fraction S of a mesh with reproduction number R0,
S = 1 - exp(-R0 S) (the chapter's (3)), solved by fixed-point iteration, with a random
R0 jitter per replica so that replicas differ. Replace `model` with your own
`fn(key, **params) -> {metric: value}`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def model(key, r0, jitter):
    import jax
    import jax.numpy as jnp

    r = r0 * (1.0 + jitter * jax.random.normal(key, dtype=jnp.result_type(r0)))
    s = jax.lax.fori_loop(0, 500, lambda i, s: 1.0 - jnp.exp(-r * s), jnp.ones_like(r))
    return {"r0_sampled": r, "giant_fraction": s}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--out", required=True, help="output folder (checkpoints + sweep.csv)"
    )
    p.add_argument("--points", type=int, default=10_000, help="R0 values")
    p.add_argument("--replicas", type=int, default=4)
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="split the CPU into this many devices (testing sharding on CPU)",
    )
    args = p.parse_args(argv)

    if args.cpu_devices:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    if args.cpu_devices:
        jax.config.update("jax_num_cpu_devices", args.cpu_devices)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout
    from meshjax import distributed
    from meshjax.sweep import Grid, sweep

    info = distributed.initialize()
    import numpy as np

    grid = Grid.product(r0=np.linspace(0.5, 4.0, args.points), jitter=[0.0, 0.1])
    out = Path(args.out)
    table = sweep(
        model,
        grid,
        key=jax.random.key(args.seed),
        replicas=args.replicas,
        chunk_size=args.chunk_size,
        checkpoint_dir=out / "checkpoints",
    )
    if info.process_index == 0:
        table.to_csv(out / "sweep.csv")
        m = table.meta
        print(
            f"{len(table)} rows on {m['n_devices']} devices in {info.process_count} "
            f"process(es): {m['points_per_s']:.3g} points/s, "
            f"{m['chunks_computed']} chunks computed, {m['chunks_loaded']} loaded "
            f"-> {out / 'sweep.csv'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
