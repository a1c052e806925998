"""Test configuration: float64 references, strict promotion, several CPU devices.

- `jax_enable_x64` is ON for the whole run (float64 references), while users run with
  JAX's default (off). What behaves differently without x64 (a `device_put` of a 64-bit
  array silently becomes 32-bit) is tested in a fresh process with JAX's defaults:
  tests/test_default_precision.py;
- `jax_numpy_dtype_promotion = "strict"`: no implicit promotion between JAX types (an
  int32 array times a float32 array is an error), so dtype slips fail in tests;
- jaxtyping's runtime checking is on for the whole package (pyproject's addopts:
  `--jaxtyping-packages=meshjax,beartype.beartype`), so every `Float[Array, "n"]`
  annotation is enforced during the test run (and costs nothing in normal use);
- JAX's persistent compilation cache is OFF for the test run (`MESHJAX_NO_COMPILATION_CACHE`):
  serialising one of the specialization tests' executables (jit + vmap over traced invalid
  parameters) segfaults inside JAX's cache writer (jax 0.10.2, CPU), and a clean CI clone
  gains nothing from it; tests/test_cache.py checks the cache in subprocesses;
- `jax_num_cpu_devices` must be set before the backend starts, so it is set here, before
  any test imports jax. Sharding tests use the 8 forced CPU devices; everything else runs on
  the default device and is unaffected;
- XLA's CPU backend runs LLVM at -O0 for the test run (`--xla_backend_optimization_level=0`
  in `XLA_FLAGS`, unless XLA_FLAGS already sets a level; subprocesses inherit it): the
  suite's time is mostly XLA compilation (about 75% in tests/test_potts.py, 83% in
  tests/test_graph_layout.py), and -O0 cut the whole suite on one core from 1888 s to
  1442 s (4086 passed either way). The HLO passes are unchanged and LLVM's -O2 keeps IEEE
  semantics (no fast math), so results are the same programs' results; a few run-time
  heavy modules run slower (test_exp_inverse_bec +20 s, test_epidemic and test_mesh
  +12 s each). Users' programs are compiled at the default level.
  Tried and not adopted: `--xla_cpu_use_fusion_emitters=false` (XLA's older CPU
  emitters) halved the backend compile time of tests/test_growth.py (21.3 s to 10.2 s),
  but those emitters compute differently (`exp`, reductions): two tests failed (an
  edgeless diffusion gave 1.1e-16 for 0; the float32 calibration fit stopped at 34 steps
  12% off), so the suite would test other numerics than users run.
"""

import itertools
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["MESHJAX_NO_COMPILATION_CACHE"] = "1"
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = " ".join(
        [os.environ.get("XLA_FLAGS", ""), "--xla_backend_optimization_level=0"]
    ).strip()

import jax  # noqa: E402
import jax.random as jr  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_num_cpu_devices", 8)
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def getkey():
    """Fresh keys from a fixed seed, so every failure reproduces."""
    key, counter = jr.key(0), itertools.count()
    return lambda: jr.fold_in(key, next(counter))


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops JAX's compiled programs after every test module.

    Each compiled XLA CPU executable holds a few memory mappings, and jit caches keep
    every executable of a function that is still alive (all of meshjax's module-level
    jitted kernels). Over the whole suite that came near the kernel's limit of 65,530
    mappings per process (`vm.max_map_count`), and XLA then crashed in a compilation
    late in the run (a segmentation fault, twice, in different tests). Clearing the
    caches between modules keeps the count at what one module needs.
    """
    yield
    import gc

    from meshjax.sweep import _plan

    with _plan._CACHE_LOCK:
        _plan._CACHE.clear()
    jax.clear_caches()
    gc.collect()
