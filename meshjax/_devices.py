"""Device meshes: the one place that lays devices out (used by sweeps and sharded graphs).

It sits below every other layer, so `graph/` and `sweep` both import it without `graph/`
importing anything above itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh

from ._validate import check_int

__all__ = ["device_mesh"]


def device_mesh(
    n_devices: int | None = None,
    axis: str = "batch",
    *,
    devices: Sequence[jax.Device] | None = None,
) -> Mesh:
    """A one-dimensional device mesh, for sweeps (axis "batch") and sharded edges.

    Args:
      n_devices: How many devices to use, the first `n_devices` of `devices`; default
        all.
      axis: The mesh axis name (e.g. "batch" for sweeps, "edges" for an edge-sharded
        graph).
      devices: The devices to choose from; default `jax.devices()` (every device of
        every process once `jax.distributed` is initialised).

    Returns:
      `jax.sharding.Mesh` of shape `(n_devices,)` with axis name `axis`.

    Raises:
      ValueError: `n_devices` outside `[1, len(devices)]`, or an empty `axis`.
    """
    devs = list(jax.devices() if devices is None else devices)
    if not devs:
        raise ValueError("`devices` is empty; need at least one device")
    if n_devices is None:
        n_devices = len(devs)
    n_devices = check_int("n_devices", n_devices, min_value=1, max_value=len(devs))
    if not isinstance(axis, str) or not axis:
        raise ValueError(f"`axis` must be a non-empty string, got {axis!r}")
    return Mesh(np.asarray(devs[: int(n_devices)]), (axis,))
