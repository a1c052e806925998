"""State of the whole-mesh simulation: a fixed-capacity growing graph plus agents."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jax import lax

from .._custom_types import Array, Bool, Float, Int
from .._validate import as_key, check_choice, check_float_dtype, check_int
from ..graph import Graph
from ._params import MeshParams, cast

DIFFUSION_RULES = ("metropolis", "laplacian")


class Tally(eqx.Module):
    """Counters since the last record (reset by `simulate` at every record).

    Attributes:
      steps: Steps counted.
      arrivals: Agents that arrived.
      queries: Queries issued.
      served: Queries served (by the issuer itself or by another agent).
      self_served: Queries served by their issuer (0 hops, no payment).
      transactions: Queries served by another agent: one payment each.
      dead_end: Queries stopped at a local maximum of capability that cannot serve.
      hop_limit: Queries still travelling after `max_hops` hops.
      hop_hist: `int32[max_hops + 1]`, served queries by hop count.
      raf_attempts: Autocatalytic operations attempted.
      raf_transactions: Autocatalytic operations served by another agent (payments).
      new_types: Types created (App. D).
      viable_pairs: Viable type pairs seen in the last step.
    """

    steps: Int[Array, ""]
    arrivals: Int[Array, ""]
    queries: Int[Array, ""]
    served: Int[Array, ""]
    self_served: Int[Array, ""]
    transactions: Int[Array, ""]
    dead_end: Int[Array, ""]
    hop_limit: Int[Array, ""]
    hop_hist: Int[Array, " h"]
    raf_attempts: Int[Array, ""]
    raf_transactions: Int[Array, ""]
    new_types: Int[Array, ""]
    viable_pairs: Int[Array, ""]


def empty_tally(max_hops: int) -> Tally:
    z = jnp.zeros((), jnp.int32)
    return Tally(
        steps=z,
        arrivals=z,
        queries=z,
        served=z,
        self_served=z,
        transactions=z,
        dead_end=z,
        hop_limit=z,
        hop_hist=jnp.zeros((max_hops + 1,), jnp.int32),
        raf_attempts=z,
        raf_transactions=z,
        new_types=z,
        viable_pairs=z,
    )


class MeshState(eqx.Module):
    r"""The mesh at one step: agents $0..N-1$ present out of a fixed capacity $n$.

    Edges: agent $a$ owns `m` edge slots `targets[a*m : (a+1)*m]`, each the id of an
    earlier agent or -1 (no edge). The undirected edge of slot $s$ is
    $\{s \,\mathrm{div}\, m,\ \mathrm{targets}[s]\}$; an absent agent's slots are -1, so
    shapes never change (O(n m) int32 memory).

    Attributes:
      n_present: $N$, agents present (ids `[0, N)`), `int32[]`.
      t: Steps done, `int32[]`.
      fitness: $\eta_i \in (0, 1]$, `[n]` (drawn for the whole capacity at init).
      targets: `int32[n*m]` edge slots (above).
      degree: `int32[n]` degrees.
      capability: $c_{ij} \ge 0$, `[n, J]` ($J$ = type capacity).
      thresholds: $\theta_{ij}$, `[n, J]`.
      task: `int32[n]`: the type each agent works on, $J$ = idle.
      stimuli: $s_j$, `[J]`.
      n_types: Active types $J(t) \le J$, `int32[]` (grows only with variety).
      raf_types: `int32[R]`: the catalyst type of each autocatalytic operation.
      earned: `int32[n]` payments received; paid: `int32[n]` payments made.
      tally: Counters since the last record (`Tally`).
      m, max_hops, max_arrivals, diffusion: Static options (see `init_state`).
    """

    n_present: Int[Array, ""]
    t: Int[Array, ""]
    fitness: Float[Array, " n"]
    targets: Int[Array, " s"]
    degree: Int[Array, " n"]
    capability: Float[Array, "n J"]
    thresholds: Float[Array, "n J"]
    task: Int[Array, " n"]
    stimuli: Float[Array, " J"]
    n_types: Int[Array, ""]
    raf_types: Int[Array, " R"]
    earned: Int[Array, " n"]
    paid: Int[Array, " n"]
    tally: Tally
    m: int = eqx.field(static=True)
    max_hops: int = eqx.field(static=True)
    max_arrivals: int = eqx.field(static=True)
    diffusion: str = eqx.field(static=True)

    @property
    def n_agents(self) -> int:
        """Capacity $n$ (static)."""
        return self.fitness.shape[-1]

    @property
    def type_capacity(self) -> int:
        """Type capacity $J$ (static)."""
        return self.capability.shape[-1]

    def present(self) -> Bool[Array, " n"]:
        """`bool[n]`: agents that have arrived."""
        return jnp.arange(self.n_agents, dtype=jnp.int32) < self.n_present


def init_state(
    key,
    params: MeshParams | None = None,
    *,
    n_agents: int,
    n_types: int = 4,
    type_capacity: int | None = None,
    n_init: int | None = None,
    m: int = 3,
    max_hops: int = 8,
    max_arrivals: int | None = None,
    raf_ops: int = 0,
    diffusion: str = "metropolis",
    dtype=jnp.float32,
) -> MeshState:
    r"""The initial mesh: `n_init` agents in a band graph, the rest of the capacity empty.

    Agent $a < n_0$ is linked to $a-1, \dots, a-m$ (those $\ge 0$): for $n_0 = m + 1$ a
    complete graph. Every agent's fitness $\eta_i$, initial capabilities
    $c_{ij} = \bar c_i u_{ij}/J_0$ ($u$ uniform, active types only) and thresholds
    (uniform in the middle third of $[\theta_{\min}, \theta_{\max}]$) are drawn now for the
    whole capacity; an agent's draw is used when it arrives.

    Args:
      key: PRNG key or int seed.
      params: `MeshParams` (fitness distribution, threshold range); default
        `MeshParams()`.
      n_agents: Capacity $n$ (static), $n > n_0$.
      n_types: Initial number of types $J_0 \ge 2$ (static).
      type_capacity: Type capacity $J \ge J_0$ (room for recombinant variety); default
        $J_0$.
      n_init: Initial agents $n_0$, $m + 1 \le n_0 < n$; default $m + 1$.
      m: Links per arriving agent (static, $\ge 1$).
      max_hops: Routing hop limit $H \ge 1$ (static).
      max_arrivals: Most arrivals in one step (static; fixes the arrival buffer);
        default $\lceil n / 32 \rceil$.
      raf_ops: $|\mathcal R|$ autocatalytic operations (static, 0 = off); each has a
        random catalyst type among the initial types.
      diffusion: `"metropolis"` (default) or `"laplacian"`: the edge weights of the
        diffusion step (see `step`).
      dtype: float32 (default, also with x64 on) or float64 (needs
        `jax_enable_x64`).

    Returns:
      A `MeshState`. Memory O(n (m + J)).
    """
    key = as_key(key)
    params = MeshParams() if params is None else params
    n = check_int("n_agents", n_agents, min_value=3, max_value=2**31 // 64)
    m = check_int("m", m, min_value=1, max_value=64)
    j0 = check_int("n_types", n_types, min_value=2)
    jcap = j0 if type_capacity is None else type_capacity
    jcap = check_int("type_capacity", jcap, min_value=j0)
    if n < m + 2:
        raise ValueError(
            f"`n_agents`={n} is out of range for `m`={m}; allowed: n_agents >= m + 2 "
            f"(the initial m + 1 agents and at least one arrival)"
        )
    n0 = m + 1 if n_init is None else n_init
    n0 = check_int("n_init", n0, min_value=m + 1, max_value=n - 1)
    max_hops = check_int("max_hops", max_hops, min_value=1)
    if max_arrivals is None:
        max_arrivals = -(-n // 32)
    max_arrivals = check_int("max_arrivals", max_arrivals, min_value=1, max_value=n)
    raf_ops = check_int("raf_ops", raf_ops, min_value=0)
    diffusion = check_choice("diffusion", diffusion, DIFFUSION_RULES)
    dtype = check_float_dtype("dtype", dtype)
    return _init(
        key, params, n, j0, jcap, n0, m, max_hops, max_arrivals, raf_ops,
        diffusion, dtype,
    )  # fmt: skip


@eqx.filter_jit  # one program (sizes static), not ~40 op-by-op dispatches per call
def _init(
    key, params, n, j0, jcap, n0, m, max_hops, max_arrivals, raf_ops, diffusion,
    dtype,
):  # fmt: skip
    p = cast(params, dtype)
    k_fit, k_cap, k_th, k_raf = jr.split(key, 4)
    u = jr.uniform(k_fit, (n,), dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    # rho(eta) = (1 + theta)(1 - eta)^theta on (0, 1]: eta = 1 - u^(1/(1+theta)).
    fitness = -jnp.expm1(jnp.log(u) / (1.0 + p.fitness_theta))
    fitness = jnp.clip(fitness, jnp.finfo(dtype).tiny, 1.0)
    active = (jnp.arange(jcap) < j0)[None, :]
    cap = fitness[:, None] * jr.uniform(k_cap, (n, jcap), dtype) / j0
    cap = jnp.where(active, cap, jnp.zeros((), dtype))
    lo = p.theta_min + (p.theta_max - p.theta_min) / 3.0
    hi = p.theta_min + 2.0 * (p.theta_max - p.theta_min) / 3.0
    th = jr.uniform(k_th, (n, jcap), dtype) * (hi - lo) + lo
    a = jnp.arange(n, dtype=jnp.int32)[:, None]
    r = jnp.arange(m, dtype=jnp.int32)[None, :]
    tgt = a - 1 - r
    tgt = jnp.where((a < n0) & (tgt >= 0), tgt, -1).reshape(-1)
    deg = _degrees(tgt, n, m)
    raf_types = jr.randint(k_raf, (raf_ops,), 0, j0, dtype=jnp.int32)
    return MeshState(
        n_present=jnp.asarray(n0, jnp.int32),
        t=jnp.zeros((), jnp.int32),
        fitness=fitness,
        targets=tgt,
        degree=deg,
        capability=cap,
        thresholds=th,
        task=jnp.full((n,), jcap, jnp.int32),
        stimuli=jnp.zeros((jcap,), dtype),
        n_types=jnp.asarray(j0, jnp.int32),
        raf_types=raf_types,
        earned=jnp.zeros((n,), jnp.int32),
        paid=jnp.zeros((n,), jnp.int32),
        tally=empty_tally(max_hops),
        m=m,
        max_hops=max_hops,
        max_arrivals=max_arrivals,
        diffusion=diffusion,
    )


def _degrees(targets: Array, n: int, m: int) -> Array:
    valid = targets >= 0
    own = valid.reshape(n, m).sum(axis=1, dtype=jnp.int32)
    idx = jnp.where(valid, targets, n)
    got = jnp.zeros((n,), jnp.int32).at[idx].add(1, mode="drop")
    return own + got


def as_graph(state: MeshState) -> Graph:
    r"""The mesh's graph as a `meshjax.graph.Graph` on all $n$ ids (absent agents are
    isolated). One O(E log E) sort; used at records (components, $\lambda_2$)."""
    n, m = state.n_agents, state.m
    tgt = state.targets
    s = tgt.shape[0]
    own = jnp.arange(s, dtype=jnp.int32) // m
    valid = tgt >= 0
    dst = jnp.where(valid, tgt, own)
    eid = jnp.arange(s, dtype=jnp.int32)
    recv = jnp.concatenate([own, dst])
    send = jnp.concatenate([dst, own])
    eids = jnp.concatenate([eid, eid])
    mask = jnp.concatenate([valid, valid])
    recv, send, eids, mask = lax.sort((recv, send, eids, mask), num_keys=1)
    return Graph(send, recv, eids, mask, n)
