"""JAX's threefry hash on the CPU, unrolled: the same random bits, about 10x faster.

Every random draw in JAX (`jr.bits`, `uniform`, `randint`, `bernoulli`, `split`, ...) is the
threefry2x32 hash of a counter. jax 0.10 lowers it on the CPU as a rolled loop (a
`fori_loop` over its five groups of four rounds), so a draw of N values becomes an XLA while
loop that writes both N-word halves of the state to memory five times and fuses with
nothing: 5·10^6 32-bit words took 0.14 s on one core of this project's CPU. The unrolled
form of the same rounds (JAX's own lowering for every other platform) is one elementwise
fusion: 0.008 s. Upstream JAX made the same change (jax-ml/jax pull request 37872: "use
unrolled loops in CPU lowering"); `install` backports it by registering JAX's unrolled rule
for the CPU platform.

The bits are identical (the primitive and its arithmetic are JAX's; only the loop is
unrolled): tests/test_threefry.py checks the Random123 known-answer vector and draws
against a NumPy threefry. Nothing is registered where this JAX has no rolled CPU rule (a
release with the upstream fix, or a changed layout of its internals), or when
`MESHJAX_ROLLED_THREEFRY=1` is set.
"""

from __future__ import annotations

import os

__all__ = ["install", "installed"]

_installed = False


def install() -> bool:
    """Registers the unrolled threefry lowering for the CPU once; True if it is in force."""
    global _installed
    if _installed:
        return True
    if os.environ.get("MESHJAX_ROLLED_THREEFRY", "").strip() not in ("", "0"):
        return False
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as tf
    except ImportError:  # JAX moved its internals: leave it as it is
        return False
    rolled = getattr(tf, "_threefry2x32_cpu_lowering_rule", None)
    unrolled = getattr(tf, "_threefry2x32_lowering_rule", None)
    prim = getattr(tf, "threefry2x32_p", None)
    if rolled is None or unrolled is None or prim is None:
        return False
    mlir.register_lowering(prim, unrolled, platform="cpu", inline=False)
    _installed = True
    return True


def installed() -> bool:
    """Whether `install` registered the unrolled rule in this process."""
    return _installed
