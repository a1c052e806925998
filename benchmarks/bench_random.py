"""Random draws on the CPU: JAX's threefry rolled (as jax 0.10 ships it) and unrolled.

`meshjax._threefry` registers JAX's unrolled threefry lowering for the CPU (the same
bits). This suite times, in one process, N = 5·10^6 draws:
* `bits`: `jr.bits` uint32 with the unrolled rule (meshjax, as installed) and with the
  rolled one (registered back for the timing, each in a freshly traced program); NumPy's
  PCG64 `integers` as the peer (other bits, for scale);
* `randint_rows`: bounded integers with a different span per entry, as BA's targets
  (`graph.generators._randint`, float64 remainders) against `jr.randint` (unrolled
  bits, XLA's integer division) and NumPy `integers(0, spans)`.

Usage: `python -m benchmarks.bench_random [--quick]` (quick: N = 5·10^5).
"""

from __future__ import annotations

import argparse
import contextlib
import os

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from benchmarks._harness import (
    add_ratios,
    print_table,
    row,
    time_call,
    time_host,
    write_json,
)
from meshjax import _threefry
from meshjax.graph import generators

SUITE = "random"


@contextlib.contextmanager
def _rolled():
    """JAX's rolled CPU rule in force inside (programs traced inside keep it)."""
    from jax._src.interpreters import mlir
    from jax._src.random import threefry2x32 as tf

    mlir.register_lowering(
        tf.threefry2x32_p, tf._threefry2x32_cpu_lowering_rule, platform="cpu"
    )
    try:
        yield
    finally:
        mlir.register_lowering(
            tf.threefry2x32_p,
            tf._threefry2x32_lowering_rule,
            platform="cpu",
            inline=False,
        )


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="benchmarks/out/random.json")
    args = ap.parse_args(argv)
    n = 500_000 if args.quick else 5_000_000
    if not _threefry.installed():
        print("random: the unrolled threefry is not installed here; nothing to compare")
        return []
    key = jr.key(0)
    spans = 10_000 + 10 * jnp.repeat(jnp.arange(n // 5, dtype=jnp.int32), 5)
    spans_np = np.asarray(spans)
    rng = np.random.default_rng(0)
    size = {"n": n}
    rows = []

    def load1():
        return round(os.getloadavg()[0], 2)

    def add(case, impl, timing, note=""):
        rows.append(row(SUITE, case, impl, size, timing, n, "draws/s"))
        rows[-1]["load1"] = load1()
        if note:
            rows[-1]["note"] = note

    def bits_fn():  # a fresh function: traced under the rule in force
        return jax.jit(lambda k: jr.bits(k, (n,), jnp.uint32))

    add("bits", "meshjax", time_call(lambda f=bits_fn(): f(key)), "unrolled threefry")
    with _rolled():
        rolled = bits_fn()
        add("bits", "jax rolled threefry", time_call(lambda: rolled(key)))
    add(
        "bits",
        "numpy",
        time_host(lambda: rng.integers(0, 2**32, n, dtype=np.uint32)),
        "PCG64, other bits",
    )
    ours = jax.jit(generators._randint)
    add("randint_rows", "meshjax", time_call(lambda: ours(key, spans)), "_randint")
    ref = jax.jit(lambda k, s: jr.randint(k, s.shape, 0, s, dtype=jnp.int32))
    add("randint_rows", "jr.randint", time_call(lambda: ref(key, spans)))
    add(
        "randint_rows",
        "numpy",
        time_host(lambda: rng.integers(0, spans_np, dtype=np.int32)),
        "PCG64, other values",
    )
    assert bool((ours(key, spans) == ref(key, spans)).all())  # the same values
    add_ratios(rows)
    print_table(rows)
    write_json(rows, args.out)
    return rows


if __name__ == "__main__":
    main()
