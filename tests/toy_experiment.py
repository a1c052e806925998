"""A tiny experiment for the CLI/config tests.

Registered by monkeypatching the registry; never part of meshjax/experiments/.
"""

from __future__ import annotations

import time

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from meshjax.experiments import Experiment, Finding, Result
from meshjax.sweep import Grid, sweep

# Test hooks: the number of chunks computed, and a chunk count after which to fail.
STATE = {"computed": 0, "fail_after": None, "sleep": 0.0}


def model(key, a, scale):
    return {"y": scale * a + jr.normal(key, dtype=jnp.result_type(float)), "a2": a * a}


def _on_chunk(info):
    if STATE["sleep"]:
        time.sleep(STATE["sleep"])  # a slow chunk, for the real-signal tests
    if info.computed:
        STATE["computed"] += 1
        if STATE["fail_after"] is not None and STATE["computed"] >= STATE["fail_after"]:
            STATE["fail_after"] = None
            raise KeyboardInterrupt("simulated kill")


def run(params, ctx):
    grid = Grid.product(
        a=np.arange(params["n_points"], dtype=float), scale=[params["scale"]]
    )
    table = sweep(
        model,
        grid,
        key=jr.key(ctx.seed),
        replicas=2,
        chunk_size=4,
        checkpoint_dir=ctx.out_dir / "checkpoints" / "toy",
        progress=ctx.log,
        on_chunk=_on_chunk,
    )
    ctx.log(f"toy: {len(table)} rows, label {params['label']}")
    y = table["y"]
    extra = [
        {"level": lv, "double": params["flags"]["double"]} for lv in params["levels"]
    ]
    verdict = (
        "supported"
        if abs(y.mean() - params["scale"] * table["a"].mean()) < 1
        else "not supported"
    )
    return Result(
        tables={"metrics": table.to_rows(), "levels": extra},
        findings=[
            Finding(
                "Toy claim (1): y tracks scale*a",
                verdict,
                f"mean y = {y.mean():.3f} | n = {len(table)}",
            )
        ],
        extras={"y": y},
    )


def validate(params):
    if params["scale"] <= 0:
        raise ValueError(f"scale={params['scale']} is out of range; allowed: > 0")
    if params["n_points"] < 1:
        raise ValueError(
            f"n_points={params['n_points']} is out of range; allowed: >= 1"
        )


def plot(result, out_dir):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(result.extras["y"])
    path = out_dir / "toy_y.png"
    fig.savefig(path, dpi=50)
    plt.close(fig)
    return [path]


EXPERIMENT = Experiment(
    name="toy",
    description="A toy sweep for the tests.",
    defaults={
        "n_points": 5,
        "scale": 1.0,
        "label": "x",
        "flags": {"double": False},
        "levels": [1, 2],
    },
    run=run,
    validate=validate,
    plot=plot,
)
