"""Several hosts, one sweep: `jax.distributed.initialize` driven by the environment.

Call `initialize()` once at the start of a program (the `meshjax` command does), before
any JAX computation. With a single process it does nothing. Under a launcher it reads
the process count, this process's rank and the coordinator's address from the
environment, in this order:

1. `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID` and `JAX_COORDINATOR_ADDRESS` (host:port) —
   explicit, works with any launcher (the address alone may also complete 2–4 below);
2. Slurm, inside `srun`: `SLURM_NTASKS`, `SLURM_PROCID`, the first host of
   `SLURM_STEP_NODELIST`, port `MESHJAX_COORDINATOR_PORT` or derived from
   `SLURM_JOB_ID`;
3. Open MPI (`mpirun`): `OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_RANK`, the launcher's
   address from `OMPI_MCA_orte_hnp_uri` (Open MPI 4; with Open MPI 5 set
   `JAX_COORDINATOR_ADDRESS`);
4. MPICH / Intel MPI (PMI): `PMI_SIZE`, `PMI_RANK`, with `JAX_COORDINATOR_ADDRESS`.

`MESHJAX_LOCAL_DEVICE_IDS=0,1` restricts a process to some local accelerators.

After it, `jax.devices()` lists every device of every process; `meshjax.sweep.sweep`
with the default mesh spreads each chunk over all of them, each process building and
computing only the shards on its own devices, and results come back to every process
(process 0 writes files). See `scripts/slurm_sweep.sbatch` and
`scripts/mpirun_sweep.sh`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping

__all__ = [
    "ClusterSpec",
    "DistributedInfo",
    "detect",
    "first_host",
    "initialize",
    "is_main_process",
]


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """What the environment says about the job.

    Attributes:
      num_processes: Processes in the job (1: single process, nothing to initialise).
      process_id: This process's rank in [0, num_processes).
      coordinator_address: "host:port" of process 0's coordinator service.
      local_device_ids: Local accelerators this process uses, or None for all.
      source: Where it came from: "single", "env", "slurm", "ompi" or "pmi".
    """

    num_processes: int = 1
    process_id: int = 0
    coordinator_address: str | None = None
    local_device_ids: tuple[int, ...] | None = None
    source: str = "single"


@dataclasses.dataclass(frozen=True)
class DistributedInfo:
    """The result of `initialize()`.

    Attributes:
      process_index: This process's index (`jax.process_index()`).
      process_count: The number of processes (`jax.process_count()`).
      initialized_here: Whether this call started the distributed runtime.
      source: Where the layout came from (`ClusterSpec.source`).
    """

    process_index: int
    process_count: int
    initialized_here: bool
    source: str


def detect(env: Mapping[str, str] | None = None) -> ClusterSpec:
    """Reads the job layout from environment variables (see the module docstring).

    Args:
      env: The environment; default `os.environ`.

    Returns:
      A `ClusterSpec`; `num_processes == 1` when not under a multi-process launcher.

    Raises:
      ValueError: inconsistent or malformed variables (named in the message), or several
        processes with no way to find the coordinator.
    """
    env = os.environ if env is None else env
    if not isinstance(env, Mapping):
        raise TypeError(
            f"`env` must be a mapping of environment variables, got "
            f"{type(env).__name__}"
        )
    n, rank, source = 1, 0, "single"
    if "JAX_NUM_PROCESSES" in env or "JAX_PROCESS_ID" in env:
        n = _int(env, "JAX_NUM_PROCESSES")
        rank = _int(env, "JAX_PROCESS_ID")
        source = "env"
    elif (
        "SLURM_STEP_NODELIST" in env and "SLURM_NTASKS" in env and "SLURM_PROCID" in env
    ):
        n, rank, source = _int(env, "SLURM_NTASKS"), _int(env, "SLURM_PROCID"), "slurm"
    elif "OMPI_COMM_WORLD_SIZE" in env:
        n, rank = _int(env, "OMPI_COMM_WORLD_SIZE"), _int(env, "OMPI_COMM_WORLD_RANK")
        source = "ompi"
    elif "PMI_SIZE" in env:
        n, rank, source = _int(env, "PMI_SIZE"), _int(env, "PMI_RANK"), "pmi"
    if n < 1:
        raise ValueError(
            f"process count {n} from the {source} environment must be >= 1"
        )
    if not 0 <= rank < n:
        raise ValueError(
            f"process id {rank} from the {source} environment is out of range; "
            f"allowed: 0..{n - 1}"
        )
    address = env.get("JAX_COORDINATOR_ADDRESS") or None
    if address is None and n > 1:
        if source == "slurm":
            address = f"{first_host(env['SLURM_STEP_NODELIST'])}:{_port(env)}"
        elif source == "ompi" and "OMPI_MCA_orte_hnp_uri" in env:
            address = f"{_ompi_launcher(env['OMPI_MCA_orte_hnp_uri'])}:{_port(env)}"
        else:
            raise ValueError(
                f"{n} processes ({source}) but no coordinator: set "
                "JAX_COORDINATOR_ADDRESS=host:port (process 0's host)"
            )
    if address is not None and not re.fullmatch(r"\S+:\d+", address):
        raise ValueError(f"coordinator address {address!r} must be host:port")
    ids = env.get("MESHJAX_LOCAL_DEVICE_IDS")
    local = None
    if ids:
        try:
            local = tuple(int(x) for x in ids.split(","))
        except ValueError:
            raise ValueError(
                f"MESHJAX_LOCAL_DEVICE_IDS={ids!r} must be comma-separated integers"
            ) from None
    return ClusterSpec(
        num_processes=n,
        process_id=rank,
        coordinator_address=address,
        local_device_ids=local,
        source=source,
    )


def initialize(env: Mapping[str, str] | None = None) -> DistributedInfo:
    """Starts JAX's distributed runtime when the environment has several processes.

    A no-op for a single process and when already initialised (so it is safe to call
    twice). Must run before any JAX computation in a multi-process job.

    Args:
      env: The environment; default `os.environ`.

    Returns:
      `DistributedInfo` for this process.

    Raises:
      ValueError: from `detect`.
    """
    import jax

    spec = detect(env)
    if spec.num_processes == 1:
        return DistributedInfo(
            process_index=0, process_count=1, initialized_here=False, source=spec.source
        )
    if jax.distributed.is_initialized():
        return DistributedInfo(
            process_index=jax.process_index(),
            process_count=jax.process_count(),
            initialized_here=False,
            source=spec.source,
        )
    jax.distributed.initialize(
        coordinator_address=spec.coordinator_address,
        num_processes=spec.num_processes,
        process_id=spec.process_id,
        local_device_ids=list(spec.local_device_ids) if spec.local_device_ids else None,
    )
    return DistributedInfo(
        process_index=jax.process_index(),
        process_count=jax.process_count(),
        initialized_here=True,
        source=spec.source,
    )


def is_main_process() -> bool:
    """Whether this is process 0 (the one that writes files and prints)."""
    import jax

    return jax.process_index() == 0


def first_host(nodelist: str) -> str:
    """The first host name of a Slurm node list.

    `"node[007-012,020],gpu3"` -> `"node007"`; `"a1,a2"` -> `"a1"`; `"n[1-4]-ib"` ->
    `"n1-ib"`.

    Raises:
      ValueError: an empty or malformed list.
    """
    if not isinstance(nodelist, str):
        raise TypeError(
            f"`nodelist` must be a string (a Slurm node list), got "
            f"{type(nodelist).__name__}"
        )
    text = nodelist.strip()
    if not text:
        raise ValueError("`nodelist` is an empty Slurm node list")
    depth, end = 0, len(text)
    for i, ch in enumerate(
        text
    ):  # the first comma outside brackets ends the first entry
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                break
        elif ch == "," and depth == 0:
            end = i
            break
    if depth != 0:
        raise ValueError(f"`nodelist`={nodelist!r} is a malformed Slurm node list")
    entry = text[:end]

    def expand_first(m: re.Match) -> str:
        first = m.group(1).split(",")[0]
        return first.split("-")[0]

    host = re.sub(r"\[([^\]]*)\]", expand_first, entry)
    if not host or "[" in host or "]" in host:
        raise ValueError(f"`nodelist`={nodelist!r} is a malformed Slurm node list")
    return host


def _port(env: Mapping[str, str]) -> int:
    if env.get("MESHJAX_COORDINATOR_PORT"):
        port = _int(env, "MESHJAX_COORDINATOR_PORT")
    elif env.get("SLURM_JOB_ID"):
        port = _int(env, "SLURM_JOB_ID") % 4096 + 61440  # a per-job port, as jax does
    else:
        port = 62111
    if not 1 <= port <= 65535:
        raise ValueError(f"coordinator port {port} out of range; allowed: 1..65535")
    return port


def _ompi_launcher(uri: str) -> str:
    m = re.search(r"tcp://(.+?)[,:]|tcp6://\[(.+?)[,\]]", uri)
    if m is None:
        raise ValueError(
            f"cannot read the launcher address from OMPI_MCA_orte_hnp_uri="
            f"{uri!r}; set JAX_COORDINATOR_ADDRESS"
        )
    return next(g for g in m.groups() if g is not None)


def _int(env: Mapping[str, str], name: str) -> int:
    if name not in env:
        raise ValueError(f"environment variable {name} is missing")
    try:
        return int(env[name])
    except ValueError:
        raise ValueError(
            f"environment variable {name}={env[name]!r} is not an integer"
        ) from None
