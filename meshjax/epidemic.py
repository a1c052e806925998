r"""SIS spreading on graphs and its epidemic threshold, §5.3 of the chapter (eq. 14,
Proposition 5.2).

Model: each infected node recovers at rate $\mu$; each susceptible node is infected at rate
$\beta$ per infected neighbour. The spreading rate is $\lambda = \beta/\mu$. Thresholds:

* heterogeneous mean field (HMF), eq. (14): $\lambda_c^{\rm HMF} = \langle k\rangle /
  \langle k^2\rangle$ (`threshold_hmf(graph)`, or `threshold_hmf_from_degrees(degrees)`);
* quenched mean field (QMF): $\lambda_c^{\rm QMF} = 1/\lambda_{\max}(A)$
  (`threshold_qmf(graph)`);
* measured: the peak of the quasi-stationary susceptibility
  $\chi = N(\langle\rho^2\rangle - \langle\rho\rangle^2)/\langle\rho\rangle$
  (`susceptibility_peak(res.spreading_rate, res.pooled_susceptibility)` on the result of
  `sis`).

$\rho(t)$, the prevalence, is the fraction of nodes infected at time $t$; the SIS result
names its fields for what they are (`prevalence_series` is $\rho(t)$, `qs_prevalence` the
quasi-stationary mean $\langle\rho\rangle$). Every neighbour sum goes through
`meshjax.graph.ops.neighbor_sum`, so per-edge weights of a graph act as couplings. Numeric
parameters (rates, `dt`, `history_rate`, `initial_fraction`) may be traced.

For random regular graphs the pair approximation gives the prevalence in closed form
(`pair_approximation_prevalence`), the reference for the simulator well above threshold.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax import lax

from ._custom_types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray
from ._results import RESULTS, AbstractResult, is_successful
from ._validate import (
    as_key,
    check_array,
    check_choice,
    check_int,
    check_real,
    in_domain,
    is_traced,
    nan_outside,
)
from .diffusion import leading_adjacency
from .graph import Graph
from .graph.ops import neighbor_sum

QS_METHODS = ("history", "reflect", "none")


class SISResult(AbstractResult):
    r"""Quasi-stationary (QS) statistics of `sis`, one entry per (rate, replica).

    $\rho(t)$ is the prevalence, the fraction of nodes infected at time $t$; QS averages
    are time averages over the measured steps (after `n_burn`).

    Attributes:
      spreading_rate: $\lambda = \beta/\mu$ of each rate, shape `(r,)`.
      qs_prevalence: QS mean prevalence $\langle\rho\rangle$ of each run, `(r, R)`.
      qs_prevalence_sq: QS second moment $\langle\rho^2\rangle$ of each run, `(r, R)`.
      qs_susceptibility: $\chi = N(\langle\rho^2\rangle - \langle\rho\rangle^2) /
        \langle\rho\rangle$ of each run, `(r, R)` (the denominator is floored at $1/N$;
        the variance is summed about the run's mean, so it keeps its digits in float32
        where $\langle\rho^2\rangle - \langle\rho\rangle^2$ would cancel).
      n_absorbed: Steps of each run that ended in the absorbing state (nobody
        infected), `int32[r, R]`: reactivations for `qs="history"`/`"reflect"`, steps
        spent absorbed for `qs="none"`.
      prevalence_series: $\rho(t)$ every `record_every` steps, `(r, R, n_records)`.
      record_times: The times $t$ of `prevalence_series`, `(n_records,)`.
      final_state: Last configuration (True = infected), `bool[r, R, n]`.
      status: `RESULTS.successful`, or `invalid_parameter` when a traced rate, `dt`,
        `history_rate` or `initial_fraction` is outside its domain (then the float
        fields of the offending rates are NaN and their `n_absorbed` is -1).

    Properties `pooled_prevalence` and `pooled_susceptibility` pool the replicas.
    """

    spreading_rate: Float[Array, " r"]
    qs_prevalence: Float[Array, "r R"]
    qs_prevalence_sq: Float[Array, "r R"]
    qs_susceptibility: Float[Array, "r R"]
    n_absorbed: Int[Array, "r R"]
    prevalence_series: Float[Array, "r R k"]
    record_times: Float[Array, " k"]
    final_state: Bool[Array, "r R n"]
    status: RESULTS

    @property
    def pooled_prevalence(self) -> Float[Array, " r"]:
        r"""$\langle\rho\rangle$ per rate, averaged over the replicas, `(r,)`."""
        return jnp.mean(self.qs_prevalence, axis=-1)

    @property
    def pooled_susceptibility(self) -> Float[Array, " r"]:
        r"""$\chi$ per rate from the replicas' pooled moments, `(r,)`:
        $N(\overline{\langle\rho^2\rangle} - \overline{\langle\rho\rangle}^2) /
        \overline{\langle\rho\rangle}$."""
        n = self.final_state.shape[-1]
        rho_i = self.qs_prevalence
        rho = jnp.mean(rho_i, axis=-1)
        # mean <rho^2> - mean^2 = mean(var_i) + spread of the means, each summed
        # without cancellation (var_i from each replica's chi)
        var_i = self.qs_susceptibility * jnp.maximum(rho_i, 1.0 / n) / n
        spread = jnp.mean((rho_i - rho[..., None]) ** 2, axis=-1)
        return n * (jnp.mean(var_i, axis=-1) + spread) / jnp.maximum(rho, 1.0 / n)


def sis(
    key: PRNGKeyArray | ArrayLike,
    graph: Graph,
    infection_rate: ArrayLike | Sequence,
    recovery_rate: ArrayLike | Sequence = 1.0,
    *,
    n_steps: int,
    dt: ArrayLike = 0.05,
    n_burn: int | None = None,
    replicas: int = 1,
    qs: str = "history",
    history_size: int = 32,
    history_rate: ArrayLike = 1.0,
    initial_fraction: ArrayLike = 0.5,
    record_every: int = 10,
) -> SISResult:
    r"""Discrete-time SIS with a quasi-stationary method, vmapped over rates and replicas.

    One step of length $dt$, synchronous: an infected node recovers with probability
    $1 - e^{-\mu\,dt}$; a susceptible node $i$ is infected with probability
    $1 - e^{-\beta m_i\,dt}$, $m_i = \sum_j w_{ij} x_j$ its (weighted) number of infected
    neighbours (the chance of at least one of the exponential clocks firing; edge weights,
    if the graph has them, are per-edge couplings). As $dt \to 0$ this converges to the
    continuous-time (Gillespie) SIS process with error O(dt); $\beta k_{\max} dt \ll 1$ and
    $\mu\,dt \ll 1$ are needed for that, not for validity.

    Quasi-stationary method (`qs`):
      * "history" (de Oliveira & Dickman 2005): every run keeps up to `history_size`
        past active configurations; at rate `history_rate` per unit time the current
        configuration is stored (appended while there is room, then replacing a
        uniformly chosen one). When the run falls into the absorbing state (nobody
        infected) it restarts from a uniformly chosen stored configuration (from one
        random infected node if none is stored yet). Time averages then sample the QS
        distribution once the stored configurations have been renewed, i.e. after a
        burn-in of several `history_size / history_rate` time units.
      * "reflect": on absorption one uniformly chosen node is infected (the reflecting
        boundary of e.g. Sander, Costa, Ferreira, Dickman); cheaper, no memory, slightly
        different from "history" near threshold.
      * "none": plain SIS; absorbed runs stay absorbed (their prevalence is 0).

    Args:
      key: PRNG key or int seed; run (rate i, replica j) uses
        `fold_in(fold_in(key, i), j)`, so its result does not depend on the other rates or
        on `replicas`.
      graph: The graph.
      infection_rate: $\beta \ge 0$ per S–I edge, scalar or `(r,)`. May be traced.
      recovery_rate: $\mu > 0$, scalar or `(r,)` (broadcast with `infection_rate`). May be
        traced.
      n_steps: Total steps (static), > `n_burn`.
      dt: Step length $dt > 0$. May be traced.
      n_burn: Steps discarded before measuring (static; default `n_steps // 2`).
      replicas: Independent runs per rate, $R \ge 1$ (static).
      qs: "history", "reflect" or "none".
      history_size: Stored configurations per run, $M \ge 1$ (memory $M n r R$ bytes).
      history_rate: Replacements per unit time, $> 0$. May be traced.
      initial_fraction: Fraction of nodes infected at $t = 0$ (chosen at random), in
        (0, 1] (at least one node is infected). May be traced.
      record_every: Stride of `prevalence_series` (static, <= `n_steps`).

    Returns:
      An `SISResult` (status `invalid_parameter` for out-of-domain traced parameters).

    Raises:
      ValueError: negative or non-finite rates, non-positive `recovery_rate` or `dt`,
        `n_burn >= n_steps`, unknown `qs`, other out-of-range arguments.
      TypeError: non-real rates, `graph` not a `Graph`, a traced size or count.

    Cost: per step, one adjacency mat-vec over all $rR$ runs at once, O(E r R) work and
    O(n r R) uniform draws; memory O((E + M n) r R).
    """
    key = as_key(key)
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    beta = check_array(
        "infection_rate", infection_rate, ndim=(0, 1), low=0.0, nonempty=True
    )
    mu = check_array(
        "recovery_rate",
        recovery_rate,
        ndim=(0, 1),
        low=0.0,
        low_open=True,
        nonempty=True,
    )
    try:
        (r,) = np.broadcast_shapes(np.shape(beta), np.shape(mu), (1,))
    except ValueError as e:
        raise ValueError(
            f"`infection_rate` {np.shape(beta)} and `recovery_rate` {np.shape(mu)} "
            "do not broadcast"
        ) from e
    n_steps = check_int("n_steps", n_steps, min_value=1)
    if n_burn is None:
        n_burn = n_steps // 2
    n_burn = check_int("n_burn", n_burn, min_value=0, max_value=n_steps - 1)
    dt = check_real("dt", dt, low=0.0, low_open=True)
    replicas = check_int("replicas", replicas, min_value=1)
    qs = check_choice("qs", qs, QS_METHODS)
    history_size = check_int("history_size", history_size, min_value=1)
    history_rate = check_real("history_rate", history_rate, low=0.0, low_open=True)
    initial_fraction = check_real(
        "initial_fraction", initial_fraction, low=0.0, high=1.0, low_open=True
    )
    record_every = check_int(
        "record_every", record_every, min_value=1, max_value=n_steps
    )

    f = jnp.result_type(float)
    beta = jnp.broadcast_to(jnp.asarray(beta, f), (r,))
    mu = jnp.broadcast_to(jnp.asarray(mu, f), (r,))
    dt = jnp.asarray(dt, f)
    history_rate = jnp.asarray(history_rate, f)
    frac = jnp.asarray(initial_fraction, f)
    ok_rate = in_domain(beta, low=0.0) & in_domain(mu, low=0.0, low_open=True)
    ok_all = (
        in_domain(dt, low=0.0, low_open=True)
        & in_domain(history_rate, low=0.0, low_open=True)
        & in_domain(frac, low=0.0, high=1.0, low_open=True)
    )
    ok = ok_rate & ok_all  # (r,)
    # Out-of-domain traced values are replaced by harmless ones for the run; their
    # outputs are NaN and the status says so.
    beta_s = jnp.where(ok, beta, 0.0)
    mu_s = jnp.where(ok, mu, 1.0)
    dt_s = jnp.where(ok_all, dt, 0.05)
    p_hist = jnp.where(ok_all, history_rate * dt, 0.5)
    frac_s = jnp.where(ok_all, frac, 0.5)

    keys = jax.vmap(
        lambda i: jax.vmap(lambda j: jr.fold_in(jr.fold_in(key, i), j))(
            jnp.arange(replicas)
        )
    )(jnp.arange(r))  # (r, R)
    keys = keys.reshape(-1)
    out = _run(
        graph,
        keys,
        jnp.repeat(beta_s, replicas),
        jnp.repeat(mu_s, replicas),
        dt_s,
        n_steps,
        n_burn,
        qs,
        history_size if qs == "history" else 1,
        p_hist,
        frac_s,
        record_every,
    )
    rho_m, var_m, n_abs, series, final = out
    n_rec = n_steps // record_every
    shape = (r, replicas)
    n = graph.n_nodes
    rho_m, var_m = rho_m.reshape(shape), var_m.reshape(shape)
    rho2_m = var_m + rho_m**2
    chi = n * var_m / jnp.maximum(rho_m, 1.0 / n)
    times = dt * record_every * jnp.arange(1, n_rec + 1, dtype=f)
    okc = ok[:, None]
    return SISResult(
        spreading_rate=nan_outside(ok, beta / jnp.where(ok, mu, 1.0)),
        qs_prevalence=nan_outside(okc, rho_m),
        qs_prevalence_sq=nan_outside(okc, rho2_m),
        qs_susceptibility=nan_outside(okc, chi),
        n_absorbed=nan_outside(okc, n_abs.reshape(shape)),
        prevalence_series=nan_outside(
            okc[..., None], jnp.moveaxis(series, 0, -1).reshape(shape + (n_rec,))
        ),
        record_times=nan_outside(ok_all, times),
        final_state=jnp.moveaxis(final, 0, -1).reshape(shape + (n,)),
        status=RESULTS.where(
            jnp.all(ok), RESULTS.successful, RESULTS.invalid_parameter
        ),
    )


@functools.partial(jax.jit, static_argnums=(5, 6, 7, 8, 11))
def _run(
    graph, keys, beta, mu, dt, n_steps, n_burn, qs, m_hist, p_hist, frac, record_every
):
    n = graph.n_nodes
    b = keys.shape[0]
    f = beta.dtype
    cols = jnp.arange(b, dtype=jnp.int32)

    split = jax.vmap(lambda k: jr.split(k, 3))(keys)
    k_init, k_dyn, k_aux = split[:, 0], split[:, 1], split[:, 2]

    def uniforms(ks, step, shape_tail):
        # Column c from its own key, folded with the step (batch-independent).
        return jax.vmap(lambda k: jr.uniform(jr.fold_in(k, step), shape_tail, f))(ks)

    x0 = uniforms(k_init, 0, (n,)).T < frac  # (n, b) bool
    x0 = x0.at[0].set(x0[0] | ~jnp.any(x0, axis=0))  # at least one infected
    hist0 = jnp.zeros((m_hist, n, b), bool)
    n_filled0 = jnp.zeros(b, jnp.int32)  # history slots filled so far (append first)
    p_rec = -jnp.expm1(-mu * dt)  # (b,)
    rate_dt = beta * dt

    def step(carry, i):
        x, hist, n_filled, n_abs = carry
        m = _infected_neighbours(graph, x, f)  # (weighted) infected neighbours (n, b)
        p_inf = -jnp.expm1(-rate_dt * m)
        u = uniforms(k_dyn, i, (n,)).T
        x_new = jnp.where(x, u >= p_rec, u < p_inf)
        n_inf = jnp.sum(x_new, axis=0, dtype=jnp.int32)  # (b,)
        absorbed = n_inf == 0
        if qs != "none":
            aux = uniforms(k_aux, i, (3,))  # (b, 3)

            def reactivate(x_new):
                node = jnp.minimum((aux[:, 0] * n).astype(jnp.int32), n - 1)
                restore = (
                    jnp.arange(n, dtype=jnp.int32)[:, None] == node[None, :]
                )  # one random seed
                if qs == "history":  # a stored configuration, if there is one yet
                    slot = jnp.minimum(
                        (aux[:, 0] * n_filled.astype(f)).astype(jnp.int32),
                        jnp.maximum(n_filled - 1, 0),
                    )
                    stored = hist[slot, :, cols].T  # (n, b)
                    restore = jnp.where((n_filled > 0)[None, :], stored, restore)
                return jnp.where(absorbed[None, :], restore, x_new)

            x_new = lax.cond(jnp.any(absorbed), reactivate, lambda x: x, x_new)
            if qs == "history":
                replace = (aux[:, 1] < p_hist) & jnp.any(x_new, axis=0)
                slot = jnp.minimum((aux[:, 2] * m_hist).astype(jnp.int32), m_hist - 1)
                slot = jnp.where(n_filled < m_hist, n_filled, slot)
                n_filled = n_filled + (replace & (n_filled < m_hist)).astype(jnp.int32)

                def store(hist):
                    cur = hist[slot, :, cols]  # (b, n)
                    new = jnp.where(replace[:, None], x_new.T, cur)
                    return hist.at[slot, :, cols].set(new)

                hist = lax.cond(jnp.any(replace), store, lambda h: h, hist)
        n_abs = n_abs + absorbed.astype(jnp.int32)
        if qs == "none":  # x_new unchanged since it was counted
            rho = n_inf.astype(f) / n
        else:
            rho = jnp.mean(x_new.astype(f), axis=0)  # (b,)
        return (x_new, hist, n_filled, n_abs), rho

    def block(carry, j):
        carry, rhos = lax.scan(step, carry, j * record_every + jnp.arange(record_every))
        return carry, rhos

    n_rec = n_steps // record_every
    carry = (x0, hist0, n_filled0, jnp.zeros(b, jnp.int32))
    carry, rhos = lax.scan(block, carry, jnp.arange(n_rec))
    rhos = rhos.reshape(n_rec * record_every, b)
    rest = n_steps - n_rec * record_every
    if rest:
        carry, tail = lax.scan(step, carry, n_rec * record_every + jnp.arange(rest))
        rhos = jnp.concatenate([rhos, tail], axis=0)
    w = (jnp.arange(n_steps) >= n_burn).astype(f)[:, None]
    n_meas = float(n_steps - n_burn)
    rho_m = jnp.sum(w * rhos, axis=0) / n_meas
    # the variance about the mean, not <rho^2> - <rho>^2: the prevalence fluctuates by
    # ~N^-1/2, and at N = 10^7 the difference of raw float32 moments is mostly rounding
    var_m = jnp.sum(w * (rhos - rho_m) ** 2, axis=0) / n_meas
    series = rhos[record_every - 1 : n_rec * record_every : record_every]  # (n_rec, b)
    x, _, _, n_abs = carry
    return rho_m, var_m, n_abs, series, x  # x: (n, b)


def _infected_neighbours(graph: Graph, x: Array, f) -> Array:
    r"""$m_i = \sum_j w_{ij} x_j$ for every run, `x` `bool[n, b]` -> `f[n, b]`.

    On an unweighted graph with a gather layout (mask folded in), the states are
    gathered as bytes, not floats: one run's states as `int8[n]` (a 1-D gather that
    fuses with the adds), several runs four to an int32 word (byte r = run r; a row of
    at most 255 head entries cannot overflow a byte), the hubs' tail slots summed per
    run. Otherwise `neighbor_sum` of the float states (weights are couplings).
    """
    lay = graph.layout
    if (
        lay is None
        or graph.weights is not None
        or not lay.mask_baked
        or lay.n_columns > 255
        or lay.n_columns == 0
    ):
        return neighbor_sum(graph, x.astype(f))
    n, b = x.shape
    if b == 1:
        vals = x[:, 0].astype(jnp.int8)
        lanes = None
    else:
        g = -(-b // 4)
        xp = jnp.zeros((n, 4 * g), jnp.int8).at[:, :b].set(x.astype(jnp.int8))
        vals = lax.bitcast_convert_type(xp.reshape(n, g, 4), jnp.int32)  # (n, g)
        lanes = jnp.arange(4, dtype=jnp.int32) * 8
    ext = jnp.concatenate([vals, jnp.zeros((1,) + vals.shape[1:], vals.dtype)])

    def take(a, idx):
        return a.at[idx].get(mode="promise_in_bounds")

    acc, start = None, 0
    starts = []
    for length in lay.lengths:
        starts.append(start)
        start += length
    for c in reversed(range(lay.n_columns)):
        length = lay.lengths[c]
        v = take(ext, lay.head[starts[c] : starts[c] + length]).astype(jnp.int32)
        if acc is None:
            acc = v
        elif length > acc.shape[0]:
            pad = jnp.zeros((length - acc.shape[0],) + acc.shape[1:], jnp.int32)
            acc = jnp.concatenate([acc, pad]) + v
        else:
            acc = acc + v
    if acc.shape[0] < n:
        pad = jnp.zeros((n - acc.shape[0],) + acc.shape[1:], jnp.int32)
        acc = jnp.concatenate([acc, pad])
    if lanes is not None:
        # materialise the packed sums once, then split the bytes: (n, g, 4)
        acc = lax.optimization_barrier(acc)
        acc = (acc[..., None] >> lanes) & 255
    if lay.tail_nbr.shape[0]:
        t = take(ext, lay.tail_nbr).astype(jnp.int32)
        if lanes is not None:
            t = (t[..., None] >> lanes) & 255
        n_hub = lay.lengths[-1]
        part = jax.ops.segment_sum(t, lay.tail_pos, n_hub, indices_are_sorted=True)
        acc = acc.at[:n_hub].add(part)
    out = take(acc, lay.inv)  # sorted position -> node order
    if lanes is not None:
        out = out.reshape(n, -1)[:, :b]
    else:
        out = out[:, None]
    return out.astype(f)


def threshold_hmf(graph: Graph) -> Float[Array, ""]:
    r"""Eq. (14): $\lambda_c^{\rm HMF} = \langle k\rangle/\langle k^2\rangle$ of a graph.

    HMF is a degree-class theory: it uses the degrees $k_i$ (edge weights are ignored).
    For a degree sequence without a graph use `threshold_hmf_from_degrees`.

    Args:
      graph: The graph (at least one edge).

    Returns:
      Scalar (float); NaN for a traced edgeless graph. Cost O(E).

    Raises:
      ValueError: the graph has no edges ($\langle k^2\rangle = 0$, no threshold).
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"`graph` must be a meshjax Graph, got {type(graph).__name__}")
    if is_traced(graph):
        k = graph.degrees().astype(jnp.result_type(float))
        if not is_traced(k) and not bool(np.any(np.asarray(k) > 0)):
            raise ValueError("`graph` has no edges: <k^2> = 0, no threshold")
        return _hmf(k)
    value, any_edge = _threshold_hmf_graph(graph)  # one compiled program per graph
    if not bool(any_edge):
        raise ValueError("`graph` has no edges: <k^2> = 0, no threshold")
    return value


@jax.jit
def _threshold_hmf_graph(graph: Graph) -> tuple[Array, Array]:
    k = graph.degrees().astype(jnp.result_type(float))
    return _hmf(k), jnp.any(k > 0)


def threshold_hmf_from_degrees(degrees: ArrayLike | Sequence) -> Float[Array, ""]:
    r"""Eq. (14) from a degree sequence: $\langle k\rangle/\langle k^2\rangle$.

    Args:
      degrees: Node degrees $k_i \ge 0$, shape `(n,)`, not all zero (may be traced: NaN
        then for an all-zero or out-of-domain sequence).

    Returns:
      Scalar (float). Cost O(n).
    """
    k = check_array("degrees", degrees, ndim=1, low=0.0, nonempty=True)
    if is_traced(k):
        return _hmf(jnp.asarray(k, jnp.result_type(float)))
    if not bool(np.any(np.asarray(k) > 0)):
        raise ValueError("`degrees` are all zero: <k^2> = 0, no threshold")
    return _hmf_jit(k)


@jax.jit
def _hmf_jit(k: Array) -> Array:
    return _hmf(jnp.asarray(k, jnp.result_type(float)))


def _hmf(k: Array) -> Array:
    k2 = jnp.mean(k**2)
    ok = jnp.all(in_domain(k, low=0.0)) & (k2 > 0)
    return nan_outside(ok, jnp.mean(k) / jnp.where(ok, k2, 1.0))


def threshold_qmf(
    graph: Graph, *, tol: ArrayLike | None = None, max_restarts: int = 1000
) -> Float[Array, ""]:
    r"""QMF threshold $\lambda_c^{\rm QMF} = 1/\lambda_{\max}(A)$ (weights, if any, used).

    Args:
      graph: The graph (at least one edge).
      tol, max_restarts: Passed to `meshjax.diffusion.leading_adjacency` (Lanczos for
        $n > 64$); `tol` may be traced.

    Returns:
      Scalar (float); NaN when Lanczos did not converge, `tol` is out of its domain, or a
      traced graph has no edges or negative or non-finite weights.

    Raises:
      ValueError: the graph has no edges ($\lambda_{\max}(A) = 0$, no threshold), or
        negative or non-finite weights on present slots (a concrete graph's).
    """
    res = leading_adjacency(graph, tol=tol, max_restarts=max_restarts)
    lam = res.value
    if is_traced(lam):
        return _qmf_from(lam, res.status)[0]
    out, answer = _qmf_from_jit(lam, res.status)  # scalars: one program for all graphs
    if bool(answer) and float(lam) <= 0:
        raise ValueError("`graph` has no edges: lambda_max(A) = 0, no threshold")
    return out


def _qmf_from(lam: Array, status: RESULTS) -> tuple[Array, Array]:
    """1 / lambda_max(A) (NaN unless an answer > 0), and whether the status is one."""
    answer = is_successful(status)
    ok = answer & (lam > 0)
    return nan_outside(ok, 1.0 / jnp.where(ok, lam, 1.0)), answer


_qmf_from_jit = jax.jit(_qmf_from)


def pair_approximation_prevalence(
    rate: ArrayLike | Sequence, degree: ArrayLike
) -> Array:
    r"""Stationary SIS prevalence on a random $k$-regular graph, pair approximation.

    Closing the pair equations at the level of links ([SI], [II], [SS]) gives, with
    $\lambda = \beta/\mu$ (derivation in docs/diffusion.md):
    $$\frac{\rho}{1 - \rho} = \frac{k\,[\lambda(k - 1) - 1]}{k - 1}, \qquad
    \lambda_c^{\rm PA} = \frac{1}{k - 1},$$
    and $\rho = 0$ below $\lambda_c^{\rm PA}$.

    Args (broadcast; may be traced, NaN where a traced value is out of range):
      rate: $\lambda \ge 0$.
      degree: $k \ge 2$.
    """
    lam = check_array("rate", rate, low=0.0)
    k = check_array("degree", degree, low=2.0)
    f = jnp.result_type(float)
    lam, k = jnp.asarray(lam, f), jnp.asarray(k, f)
    ok = in_domain(lam, low=0.0) & in_domain(k, low=2.0)
    k_s = jnp.where(ok, k, 2.0)
    ratio = jnp.maximum(k_s * (lam * (k_s - 1) - 1) / (k_s - 1), 0.0)
    return nan_outside(ok, ratio / (1 + ratio))


def susceptibility_peak(
    rates: ArrayLike | Sequence, chi: ArrayLike
) -> Float[Array, ""]:
    r"""The rate at the maximum of $\chi(\lambda)$, refined by a parabola in $\ln\lambda$.

    The parabola goes through the maximum and its two neighbours; its vertex (clipped to
    their interval) is the estimate.

    Args:
      rates: Strictly increasing positive rates, `(r,)`, $r \ge 3$ (e.g.
        `SISResult.spreading_rate`).
      chi: Finite susceptibility per rate, `(r,)` (e.g.
        `SISResult.pooled_susceptibility`).

    Returns:
      The threshold estimate; the grid end point if the maximum is there (then the
      true peak may lie outside the grid). May be traced: NaN for traced rates that are
      not positive and increasing, or non-finite `chi`.
    """
    lam = check_array("rates", rates, ndim=1, low=0.0, low_open=True)
    if lam.shape[0] < 3:
        raise ValueError(f"`rates` must have length >= 3, got {lam.shape[0]}")
    c = check_array("chi", chi, ndim=1, shape=(lam.shape[0],))
    if not is_traced(lam) and bool(np.any(np.diff(np.asarray(lam)) <= 0)):
        raise ValueError("`rates` must be strictly increasing")
    if is_traced((lam, c)):
        return _susceptibility_peak(lam, c)
    return _susceptibility_peak_jit(lam, c)  # one compiled program, not one per op


def _susceptibility_peak(lam: Array, c: Array) -> Array:
    f = jnp.result_type(float)
    lam, c = jnp.asarray(lam, f), jnp.asarray(c, f)
    r = lam.shape[0]
    ok = (
        jnp.all(in_domain(lam, low=0.0, low_open=True))
        & jnp.all(jnp.diff(lam) > 0)
        & jnp.all(in_domain(c))
    )
    lam_s = jnp.where(ok, lam, jnp.arange(1, r + 1, dtype=f))
    i = jnp.argmax(jnp.where(ok, c, 0.0))
    j = jnp.clip(i, 1, r - 2)
    x0, x1, x2 = (jnp.log(lam_s[j + d]) for d in (-1, 0, 1))
    y0, y1, y2 = (c[j + d] for d in (-1, 0, 1))
    d0 = (y1 - y0) / (x1 - x0)
    d1 = (y2 - y1) / (x2 - x1)
    a = (d1 - d0) / (x2 - x0)
    b = d0 - a * (x0 + x1)
    xv = jnp.where(a < 0, -b / (2 * jnp.where(a < 0, a, -1.0)), x1)
    xv = jnp.clip(xv, x0, x2)
    edge = (i == 0) | (i == r - 1)
    return nan_outside(ok, jnp.where(edge, lam_s[i], jnp.exp(xv)))


_susceptibility_peak_jit = jax.jit(_susceptibility_peak)


__all__ = [
    "QS_METHODS",
    "SISResult",
    "pair_approximation_prevalence",
    "sis",
    "susceptibility_peak",
    "threshold_hmf",
    "threshold_hmf_from_degrees",
    "threshold_qmf",
]
