"""Tests for meshjax.growth: (22)-(33), saturation (26)-(27), variety (28)-(31), Baumol (40)-(42)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

import meshjax
from meshjax import RESULTS, growth as g

T1 = 40.0


def _grid():
    """One flat batch covering every regime, so that the tests share one compiled solve."""
    rows = []
    for Phi in (1.2, 1.5, 2.0):  # regime (c), delta = 0: the chapter's (33)
        for dg in (0.5, 1.0, 2.0):
            rows.append(dict(delta_g=dg, phi=Phi, delta=0.0, C0=1.0, kind="c0"))
    for Phi in (1.2, 1.5, 2.0):  # regime (c) with depreciation: exact blow-up time
        for dg in (0.5, 1.0, 2.0):
            rows.append(dict(delta_g=dg, phi=Phi, delta=0.1, C0=1.0, kind="cd"))
    for Phi, d in ((0.3, 0.4), (0.6, 0.6), (0.8, 1.0)):  # regime (a)
        rows.append(dict(delta_g=1.0, phi=Phi, delta=d, C0=0.5, kind="a"))
    for dg, d in ((0.4, 0.1), (1.0, 0.3)):  # regime (b): Phi = 1 (lam = 1, phi = 1)
        rows.append(dict(delta_g=dg, phi=1.0, delta=d, C0=1.0, kind="b"))
    rows.append(dict(delta_g=1.0, phi=1.5, delta=0.5, C0=0.2, kind="decay"))  # C0 < C_u
    rows.append(
        dict(delta_g=4.0, phi=1.5, delta=0.5, h=2.0, C0=1.0, kind="h")
    )  # saturated
    rows.append(
        dict(delta_g=0.4, phi=1.0, delta=0.1, gamma_J=0.5, g_J=0.05, C0=1.0, kind="bJ")
    )
    for Phi in (
        0.2,
        0.4,
        0.5,
        0.7,
        0.75,
    ):  # more regime (a): the batch has 32 points, the
        rows.append(
            dict(delta_g=1.0, phi=Phi, delta=1.0, C0=2.0, kind="a")
        )  # experiment's
    # stiff point: explicit steps need ~1e7 steps > max_steps, so the solve must report failure
    rows.append(dict(delta_g=1.0, phi=0.5, delta=1e6, C0=1.0, kind="fail"))
    keys = ("delta_g", "phi", "delta", "h", "gamma_J", "g_J")
    cols = {k: np.array([r.get(k, 0.0) for r in rows]) for k in keys}
    params = g.GrowthParams(f=0.5, lam=1.0, J0=1.0, **cols)
    C0 = np.array([r["C0"] for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    return params, C0, kinds


@pytest.fixture(scope="module")
def solved():
    params, C0, kinds = _grid()
    sol = g.solve(params, C0, T1, n_save=201)
    return params, C0, kinds, sol


def _sel(params, mask):
    return jax.tree_util.tree_map(lambda x: x[mask] if np.ndim(x) else x, params)


def test_phi_eff_and_threshold():
    np.testing.assert_allclose(g.phi_eff(0.8, 0.25), 1.0, rtol=1e-12)
    np.testing.assert_allclose(g.beta_threshold(0.6), 2 / 3, rtol=1e-12)
    phi0 = np.linspace(0.1, 0.9, 9)
    beta = np.linspace(0.05, 0.95, 7)[:, None]
    pe = np.asarray(g.phi_eff(phi0, beta))
    assert np.all(pe > phi0)
    assert np.all((pe >= 1) == (beta >= (1 - phi0) / phi0 - 1e-12))
    np.testing.assert_allclose(g.composite_elasticity(0.7, 1.4), 1.1)


def test_regime_c_blowup_time_matches_ts(solved):
    params, C0, kinds, sol = solved
    m = kinds == "c0"
    assert np.all(np.asarray(sol.status == RESULTS.blowup)[m])
    Ts = np.asarray(g.singularity_time(_sel(params, m), C0[m]))
    rel = np.abs(np.asarray(sol.t_end)[m] / Ts - 1)
    assert rel.max() < 1e-3, rel
    # after the singularity the trajectory is reported as +inf, not as garbage
    after = np.asarray(sol.ts)[None, :] > np.asarray(sol.t_end)[m][:, None]
    assert np.all(np.isposinf(np.asarray(sol.log_C)[m][after]))


def test_regime_c_with_depreciation_is_later_than_ts(solved):
    params, C0, kinds, sol = solved
    m = kinds == "cd"
    p = _sel(params, m)
    Tb = np.asarray(g.blowup_time(p, C0[m]))
    Ts = np.asarray(g.singularity_time(p, C0[m]))
    assert np.all(Tb > Ts)
    blew = np.asarray(sol.status == RESULTS.blowup)[m]
    np.testing.assert_array_equal(blew, np.isfinite(Tb) & (Tb < T1))
    np.testing.assert_allclose(np.asarray(sol.t_end)[m][blew], Tb[blew], rtol=1e-3)
    # blowup_time -> T_s as delta -> 0
    p0 = g.GrowthParams(delta_g=1.0, phi=1.5, delta=1e-9)
    np.testing.assert_allclose(
        g.blowup_time(p0, 1.0), g.singularity_time(p0, 1.0), rtol=1e-6
    )


def test_closed_form_matches_solver(solved):
    params, C0, kinds, sol = solved
    m = np.isin(kinds, ["a", "b", "decay", "cd", "c0"])
    p = _sel(params, m)
    cf = np.asarray(
        g.closed_form(
            np.asarray(sol.ts)[None, :],
            jax.tree_util.tree_map(lambda x: x[:, None] if np.ndim(x) else x, p),
            C0[m][:, None],
        )
    )
    num = np.asarray(sol.log_C)[m]
    fin = np.isfinite(num) & np.isfinite(cf)
    fin &= np.asarray(sol.ts)[None, :] < 0.999 * np.asarray(sol.t_end)[m][:, None]
    np.testing.assert_allclose(num[fin], cf[fin], rtol=1e-6, atol=1e-7)


def test_closed_form_against_scipy():
    p = g.GrowthParams(delta_g=0.7, f=0.4, lam=0.8, phi=0.5, delta=0.3)
    a, Phi = float(p.a()), float(p.Phi)
    ts = np.linspace(0, 10, 11)
    ref = scipy.integrate.solve_ivp(
        lambda t, c: a * c**Phi - 0.3 * c,
        (0, 10),
        [2.0],
        t_eval=ts,
        rtol=1e-11,
        atol=1e-12,
    ).y[0]
    np.testing.assert_allclose(np.exp(g.closed_form(ts, p, 2.0)), ref, rtol=1e-8)


def test_regime_a_converges_below_ceiling(solved):
    params, C0, kinds, sol = solved
    m = kinds == "a"
    c_star = np.asarray(g.steady_state(_sel(params, m)))
    np.testing.assert_allclose(
        np.exp(np.asarray(sol.log_C)[m][:, -1]), c_star, rtol=2e-3
    )
    # saturated variant (h > 0, Phi = 1.5 > 1): bounded by max(C0, 1/(h delta)), no blow-up
    mh = kinds == "h"
    assert np.all(np.asarray(sol.status == RESULTS.successful)[mh])
    bound = 1 / (2.0 * 0.5)
    assert np.all(np.exp(np.asarray(sol.log_C)[mh]) < max(1.0, bound) * (1 + 1e-9))


def test_regime_b_constant_growth_rate(solved):
    params, C0, kinds, sol = solved
    m = kinds == "b"
    p = _sel(params, m)
    rate = np.asarray(sol.growth_rate)[m]
    expected = np.asarray(p.a() - p.delta)
    np.testing.assert_allclose(
        rate, np.broadcast_to(expected[:, None], rate.shape), rtol=1e-9
    )
    slope = np.diff(np.asarray(sol.log_C)[m], axis=1) / np.diff(np.asarray(sol.ts))
    np.testing.assert_allclose(
        slope, np.broadcast_to(expected[:, None], slope.shape), rtol=1e-7
    )


def test_eq32_is_not_the_solution_with_growing_J(solved):
    params, C0, kinds, sol = solved
    m = kinds == "bJ"
    p = _sel(params, m)
    exact = np.asarray(g.closed_form_exp_variety(np.asarray(sol.ts), p, C0[m]))
    np.testing.assert_allclose(np.asarray(sol.log_C)[m][0], exact, rtol=1e-7, atol=1e-8)
    t = np.asarray(sol.ts)
    a0 = float(p.a()[0])
    eq32 = np.log(C0[m][0]) + (a0 * np.exp(0.5 * 0.05 * t) - 0.1) * t
    assert np.max(np.abs(eq32 - exact)) > 1.0  # (32) is off by O(1) in log C at t = 40


def test_regime_from_params_and_trajectory_agree(solved):
    params, C0, kinds, sol = solved
    expected = {
        "c0": g.REGIME_C,
        "a": g.REGIME_A,
        "b": g.REGIME_B,
        "decay": g.REGIME_DECAY,
        "h": g.REGIME_A,
        "bJ": g.REGIME_B,
    }
    from_p = np.asarray(g.regime_from_params(params, C0))
    for kind, code in expected.items():
        if kind != "bJ":  # growing J: the parameter rule is for constant J
            assert np.all(from_p[kinds == kind] == code), kind
    from_t = np.asarray(g.regime_from_trajectory(sol))
    for kind in ("c0", "a", "b", "h"):
        assert np.all(from_t[kinds == kind] == expected[kind]), (
            kind,
            from_t[kinds == kind],
        )
    # with depreciation the blow-up regime needs C0 above the unstable point
    mc = kinds == "cd"
    blew = np.asarray(sol.status == RESULTS.blowup)[mc]
    assert np.all(from_t[mc][blew] == g.REGIME_C)


def test_batch_permutation_permutes_results(solved):
    params, C0, kinds, sol = solved
    perm = np.random.default_rng(0).permutation(C0.shape[0])
    sol2 = g.solve(
        _sel(params, perm), C0[perm], T1, n_save=201
    )  # same shapes: no recompile
    np.testing.assert_array_equal(
        np.asarray(meshjax.status_code(sol2)),
        np.asarray(meshjax.status_code(sol))[perm],
    )
    np.testing.assert_allclose(
        np.asarray(sol2.t_end), np.asarray(sol.t_end)[perm], rtol=1e-12
    )


def test_failed_solve_reports_status(solved):
    params, C0, kinds, sol = solved
    m = kinds == "fail"
    assert np.all(np.asarray(sol.status == RESULTS.max_steps_reached)[m])
    assert np.all(np.isnan(np.asarray(sol.log_C)[m][:, -1]))
    assert np.all(np.asarray(g.regime_from_trajectory(sol))[m] == -1)
    assert np.all(np.asarray(meshjax.is_successful(sol))[~m])


@pytest.mark.parametrize(
    "kw",
    [
        dict(delta=-0.1),
        dict(f=1.0),
        dict(f=0.0),
        dict(lam=1.5),
        dict(delta_g=np.nan),
        dict(h=-1.0),
        dict(alpha=2.0),
    ],
)
def test_bad_params_raise(kw):
    with pytest.raises(ValueError):
        g.GrowthParams(**kw)


def test_bad_inputs_raise():
    p = g.GrowthParams()
    with pytest.raises(ValueError, match="C0"):
        g.solve(p, -1.0, 1.0)
    with pytest.raises(ValueError, match="C0"):
        g.solve(p, np.nan, 1.0)
    with pytest.raises(ValueError, match="t1"):
        g.solve(p, 1.0, -1.0)
    with pytest.raises(ValueError, match="phi0"):
        g.phi_eff(1.2, 0.1)
    with pytest.raises(ValueError, match="beta_auto"):
        g.phi_eff(0.5, 1.0)
    with pytest.raises(ValueError, match="rho"):
        g.ces_aggregate(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="rho"):
        g.c_max(5, 1.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="h"):
        g.saturation_ceiling(0.0, 1.0)
    with pytest.raises(ValueError, match="delta"):
        g.saturation_solve(np.ones((2, 2)), 1.0, -0.1, np.ones(2), 1.0)
    with pytest.raises(ValueError, match="rtol"):
        g.solve(p, 1.0, 1.0, rtol=-1.0)
    with pytest.raises(ValueError, match="convention"):
        g.ces_aggregate(np.ones(3), 0.5, convention="bogus")
    with pytest.raises(ValueError, match="beta0"):
        g.BaumolParams(beta0=1.0)


# ----------------------------------------------------------------------------- saturation
def test_saturation_symmetric_closed_form_and_lemma_bound():
    J, a, h, delta = 4, 0.5, 2.0, 0.3
    A = np.full((J, J), a)
    s = a * J  # row sum
    res = g.saturation_solve(A, h, delta, np.full(J, 0.1), 300.0)
    C = res.C
    assert res.status == RESULTS.successful
    c_star = 1 / (h * delta) - 1 / (h * s)
    np.testing.assert_allclose(np.asarray(C)[-1], c_star, rtol=1e-6)
    assert np.all(np.asarray(C)[-1] < np.asarray(g.saturation_ceiling(h, delta)))


def test_saturation_random_matrix_converges_below_bounds(getkey):
    rng = np.random.default_rng(1)
    J, h, delta, rho = 4, 1.5, 0.2, 0.5
    A = rng.uniform(0.05, 0.6, (J, J))
    assert float(g.perron_root(A)) > delta
    res = g.saturation_solve(A, h, delta, rng.uniform(0.01, 3.0, J), 300.0)
    C = np.asarray(res.C)
    assert res.status == RESULTS.successful
    # equilibrium: the vector field vanishes there, and each C_j < 1/(h delta)
    resid = np.asarray(
        g.saturation_vector_field(0.0, jnp.asarray(C[-1]), (A, h, delta))
    )
    assert np.max(np.abs(resid)) < 1e-8
    assert np.all(C[-1] < 1 / (h * delta))
    # a second start reaches the same equilibrium (global stability)
    C2 = g.saturation_solve(A, h, delta, rng.uniform(5.0, 9.0, J), 300.0).C
    np.testing.assert_allclose(np.asarray(C2)[-1], C[-1], rtol=1e-6)
    agg = float(g.ces_aggregate(C[-1], rho, convention="sum"))
    assert agg < float(g.c_max_bound(J, rho, h, delta))


def test_saturation_decays_when_perron_root_below_delta():
    A = np.full((4, 4), 0.05)  # Perron root 0.2 < delta: Lemma 10.3's equilibrium is 0
    C = g.saturation_solve(A, 1.0, 0.3, np.full(4, 2.0), 300.0).C
    np.testing.assert_allclose(float(g.perron_root(A)), 0.2, rtol=1e-12)
    assert np.all(np.asarray(C)[-1] < 1e-6)


# ----------------------------------------------------------------------------- variety
@pytest.mark.parametrize("convention", ["mean", "sum", "per_type"])
@pytest.mark.parametrize("rho", [0.5, -0.5])
def test_dceff_dJ_is_the_derivative(convention, rho):
    C = jnp.asarray([1.0, 2.0, 3.5])
    c_new = 1.7
    S0 = jnp.sum(C**rho)

    def ceff(J):  # continuous extension: the marginal type enters at c_new
        S = S0 + (J - 3) * c_new**rho
        out = S ** (1 / rho)
        return {"mean": (S / J) ** (1 / rho), "sum": out, "per_type": out / J}[
            convention
        ]

    np.testing.assert_allclose(
        g.dceff_dJ(C, c_new, rho, convention=convention),
        jax.grad(ceff)(3.0),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        g.ces_aggregate(C, rho, convention=convention), ceff(3.0), rtol=1e-12
    )


def test_variety_signs_and_eq29():
    C = jnp.asarray([1.0, 1.0, 1.0, 1.0])
    # sum / per_type with rho < 0: adding a type at the same level lowers the aggregate
    assert float(g.dceff_dJ(C, 1.0, -0.5, convention="sum")) < 0
    assert float(g.dceff_dJ(C, 1.0, -0.5, convention="per_type")) < 0
    # mean: positive iff the new type beats the power mean
    assert (
        float(g.dceff_dJ(C, 2.0, 0.5, convention="mean"))
        > 0
        > float(g.dceff_dJ(C, 0.5, 0.5, convention="mean"))
    )
    # (29) (per_type, read with jdot = 1) agrees only when c_new equals the power mean
    rho = 0.5
    C2 = jnp.asarray([1.0, 4.0])
    for c_new in (1.0, 3.0):
        ceff = g.ces_aggregate(C2, rho, convention="per_type")
        eq29 = (1 - rho) / rho * ceff / 2 * c_new**rho / (jnp.sum(C2**rho) / 2)
        direct = g.dceff_dJ(C2, c_new, rho, convention="per_type")
        mean_rho = float(jnp.mean(C2**rho)) ** (1 / rho)
        if abs(c_new - mean_rho) > 1e-9:
            assert abs(float(eq29) - float(direct)) > 1e-3
    np.testing.assert_allclose(
        g.dceff_dJ(C2, 2.25, rho, convention="per_type"),
        (1 - rho) / rho * g.ces_aggregate(C2, rho, convention="per_type") / 2,
        rtol=1e-12,
    )


def test_variety_saturation_converges_to_ceiling():
    a_s, h, delta, J_max, rho = 1.0, 1.0, 0.2, 20.0, 0.5
    res = g.variety_solve(
        a_s=a_s,
        h=h,
        delta=delta,
        eta_J=0.5,
        f_J=0.2,
        phi_J=0.3,
        J0=2.0,
        J_max=J_max,
        rho=rho,
        c0=0.1,
        t1=300.0,
    )
    J, ce = res.J, res.C_eff
    assert res.status == RESULTS.successful
    c_star = 1 / (h * delta) - 1 / (h * a_s * J_max)
    k = (1 - rho) / rho
    np.testing.assert_allclose(float(J[-1]), J_max, rtol=1e-6)
    np.testing.assert_allclose(float(ce[-1]), J_max**k * c_star, rtol=1e-6)
    assert float(ce[-1]) < float(g.c_max(J_max, rho, h, delta))
    assert np.all(np.diff(np.asarray(J)) >= -1e-6)  # J rises monotonically to J_max


# ----------------------------------------------------------------------------- Baumol
def test_baumol_cobb_douglas_tends_to_gC_not_gZ():
    gp = g.GrowthParams(delta_g=0.2, f=0.5, lam=1.0, phi=1.0, delta=0.0)  # g_C = 0.1
    bp = g.BaumolParams(g_Z=0.03, beta0=0.5, tau=1.0, p=1.0, rho_s=0.0)
    out = g.baumol_solve(gp, bp, 1.0, 1.0, 2000.0, n_save=401)  # the experiment's shape
    np.testing.assert_allclose(out.g_Ceff, out.g_eq41, rtol=1e-9, atol=1e-12)
    assert abs(float(out.g_Ceff[-1]) - 0.1) < 1e-4  # the chapter says -> g_Z = 0.03


def test_baumol_complements_tend_to_gZ():
    gp = g.GrowthParams(delta_g=0.2, f=0.5, lam=1.0, phi=1.0, delta=0.0)
    bp = g.BaumolParams(g_Z=0.03, beta0=0.5, tau=1.0, p=1.0, rho_s=-1.0)
    out = g.baumol_solve(gp, bp, 1.0, 1.0, 2000.0, n_save=401)
    gce = np.asarray(out.g_Ceff)
    t = np.asarray(out.ts)
    assert float(out.beta[-1]) > 0.999
    # g_Ceff - g_Z ~ p / (|rho_s| (t + tau)) -> 0 (complements + polynomial 1 - beta)
    np.testing.assert_allclose(gce[-1] - 0.03, 1.0 / (t[-1] + 1.0), rtol=0.05)
    assert np.all(np.diff(gce[2:]) < 0)


# ----------------------------------------------------------------------------- experiment
def test_capability_growth_validate_refuses_one_phi0_point():
    # The tiny run's tables, verdicts, blow-up times and figures are checked on the
    # shared run of tests/test_exp_capability_growth.py (test_tables_verdicts_and_
    # blowup_times, test_regime_colours_in_a_legend).
    from meshjax.experiments import get

    exp = get("capability_growth")
    with pytest.raises(ValueError, match="n_phi0"):
        exp.validate({**exp.defaults, "n_phi0": 1})


# ----------------------------------------------------------------------------- issue 12
def _f32(params):
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)


def test_tiny_C0_below_Phi_1_is_not_a_blowup():
    # issue 12: status blow-up and log_C = +inf at every time (float32, Phi = 0.5 < 1)
    p = _f32(g.GrowthParams())
    sol = g.solve(p, jnp.float32(1e-12), 10.0)
    assert sol.status == RESULTS.successful
    assert np.all(np.isfinite(np.asarray(sol.log_C)))
    cf = np.asarray(g.closed_form(sol.ts, p, jnp.float32(1e-12)))
    np.testing.assert_allclose(np.asarray(sol.log_C)[1:], cf[1:], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(float(sol.log_C[-1]), 1.8325822, rtol=1e-4)
    np.testing.assert_allclose(float(sol.log_C[0]), np.log(1e-12), rtol=1e-6)


def test_dceff_dJ_accurate_near_rho_0():
    # issue 12: the mean-convention derivative lost every digit as rho -> 0 (float32)
    C = jnp.asarray([1.0, 2.0, 3.5], jnp.float32)
    c_new = jnp.float32(1.7)
    x = np.log([1.0, 2.0, 3.5])
    limit = np.exp(x.mean()) / 3 * (np.log(1.7) - x.mean())  # rho -> 0
    for rho in (1e-7, 1e-5, 0.0):
        got = float(g.dceff_dJ(C, c_new, jnp.float32(rho)))
        np.testing.assert_allclose(got, limit, rtol=1e-4)
    got = float(
        g.dceff_dJ(jnp.ones(4, jnp.float32), jnp.float32(2.0), jnp.float32(1e-7))
    )
    np.testing.assert_allclose(got, np.log(2.0) / 4, rtol=1e-4)


@pytest.mark.parametrize("field", ["delta_g", "gamma_J", "eta_J", "delta", "phi"])
def test_params_refuse_inf(field):
    with pytest.raises(ValueError, match=field):
        g.GrowthParams(**{field: np.inf})
    g.GrowthParams(J_max=np.inf)  # the one field where inf means something (no ceiling)


def test_bad_options_name_the_argument():
    p = g.GrowthParams()
    for name in ("rtol", "atol"):
        with pytest.raises(ValueError, match=name):
            g.solve(p, 1.0, 1.0, **{name: -1.0})
    with pytest.raises(ValueError, match="blowup_factor"):
        g.solve(p, 1.0, 1.0, blowup_factor=0.5)
    with pytest.raises(ValueError, match="axis"):
        g.ces_aggregate(np.ones((2, 3)), 0.5, axis=2)  # wrapped to axis 0 before
    np.testing.assert_allclose(
        g.ces_aggregate(np.ones((2, 3)), 0.5, axis=-2), np.ones(3), rtol=1e-12
    )


def test_solve_sweeps_over_phi_and_reports_traced_bad_values():
    from meshjax.sweep import sweep

    def point(key, phi):
        sol = g.solve(g.GrowthParams(phi=phi), 1.0, 5.0, n_save=3)
        return {"log_C": sol.log_C[-1], "code": meshjax.status_code(sol)}

    table = sweep(point, {"phi": [0.3, 0.7]}, key=jax.random.key(0), progress=False)
    for i, phi in enumerate((0.3, 0.7)):
        direct = g.solve(g.GrowthParams(phi=phi), 1.0, 5.0, n_save=3)
        np.testing.assert_allclose(table["log_C"][i], direct.log_C[-1], rtol=1e-9)
    bad = jax.jit(lambda f: g.solve(g.GrowthParams(f=f), 1.0, 5.0, n_save=3))(1.5)
    assert bad.status == RESULTS.invalid_parameter
    assert np.all(np.isnan(np.asarray(bad.log_C)))


def test_baumol_traced_bad_z0_makes_every_output_nan():
    # log_C1 and g_C1 (sector 1) kept their numbers under status invalid_parameter
    gp = g.GrowthParams(phi=1.0)
    bad = jax.jit(
        lambda z: g.baumol_solve(gp, g.BaumolParams(), 1.0, z, 20.0, n_save=5)
    )(-1.0)
    assert bad.status == RESULTS.invalid_parameter
    for name in ("beta", "log_C1", "log_Z", "log_Ceff", "g_C1", "g_Ceff", "g_eq41"):
        assert np.isnan(np.asarray(getattr(bad, name))).all(), name
    assert np.isfinite(np.asarray(bad.ts)).all()  # the time grid stays


@pytest.mark.parametrize("phi", [0.9999997, 1.0000003, 0.999, 0.5, 1.2])
@pytest.mark.parametrize("delta", [0.0, 0.3])
def test_closed_form_in_float32_near_phi_1(phi, delta):
    # ln C = ln(v) / (1 - Phi) taken directly lost every digit when Phi was within
    # float32 rounding of 1 (ln C(0) came out 0.500 for ln 2); it is now log1p(v - 1)
    # with v - 1 from expm1s. Reference: the same Bernoulli solution in float64, at the
    # float32 parameters' own values.
    p = _f32(g.GrowthParams(lam=1.0, phi=phi, f=0.5, delta=delta))
    ts = np.array([0.0, 0.5, 1.0, 3.0])
    got = np.asarray(g.closed_form(jnp.asarray(ts, jnp.float32), p, jnp.float32(2.0)))
    assert got.dtype == np.float32
    e, a, d = 1.0 - float(p.Phi), float(p.a()), float(p.delta)
    x = e * np.log(2.0)
    if d > 0:
        vm1 = np.expm1(x) * np.exp(-e * d * ts) - (a / d - 1) * np.expm1(-e * d * ts)
    else:
        vm1 = np.expm1(x) + e * a * ts
    ref = np.log1p(vm1) / e
    assert got[0] == pytest.approx(np.log(2.0), rel=1e-6)
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6)


def _bernoulli_log_c(t, a, Phi, d, C0):
    """Exact ln C of (22) (h = 0, constant J) in 60-digit decimal arithmetic."""
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 60
        a, Phi, d, C0, t = (decimal.Decimal(float(x)) for x in (a, Phi, d, C0, t))
        e = 1 - Phi
        v0 = (e * C0.ln()).exp()
        v = a / d + (v0 - a / d) * (-e * d * t).exp() if d > 0 else v0 + e * a * t
        if v <= 0:
            return float("inf")
        return float(v.ln() / e)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize(
    "kw, C0, ts",
    [
        # Phi = 2 below C_u = 1/3: exp(-(1-Phi) d t) overflowed, inf - inf gave +inf
        (dict(delta_g=6.0, phi=2.0, delta=1.0), 0.2, [10.0, 50.0, 100.0, 800.0]),
        # Phi = -3, C* = 0.01: 1 + (v - 1) rounded to 0, giving -inf
        (dict(delta_g=2e-8, phi=-3.0, delta=1.0), 1.0, [1.0, 5.0, 30.0]),
        # a = 0 (collapse indicator off): ln C = -delta t exactly
        (dict(phi=0.5, delta=0.5, alpha=0.2, alpha_crit=0.5), 1.0, [50.0, 80.0, 500.0]),
        (dict(phi=1.5, delta=0.5, alpha=0.2, alpha_crit=0.5), 3.0, [50.0, 80.0, 500.0]),
        # delta = 0, far from v = 1
        (dict(delta_g=2.0, phi=0.2, delta=0.0), 1e-3, [1.0, 1e3]),
        (dict(delta_g=1e-3, phi=3.0, delta=0.0), 1e-3, [1.0, 1e3]),
        # blow-up: finite before T, +inf after
        (dict(delta_g=3.0, phi=2.0, delta=1.0), 1.0, [0.5, 1.0, 2.0]),
    ],
)
def test_closed_form_far_from_v_1_is_finite_and_exact(kw, C0, ts, dtype):
    p = g.GrowthParams(lam=1.0, **kw)
    p = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), p)
    got = np.asarray(g.closed_form(jnp.asarray(ts, dtype), p, jnp.asarray(C0, dtype)))
    assert got.dtype == dtype
    args = [float(x) for x in (p.a(), p.Phi, p.delta, jnp.asarray(C0, dtype))]
    ref = np.array([_bernoulli_log_c(t, *args) for t in ts])
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    rtol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(got[fin], ref[fin], rtol=rtol)


def test_closed_form_auditor_values():
    p = g.GrowthParams(delta_g=6.0, lam=1.0, phi=2.0, delta=1.0)
    assert float(g.closed_form(100.0, p, 0.2)) == pytest.approx(-100.693147, rel=1e-7)
    p = g.GrowthParams(delta_g=2e-8, lam=1.0, phi=-3.0, delta=1.0)
    sol = g.solve(p, 1.0, 5.0)
    assert float(g.closed_form(5.0, p, 1.0)) == pytest.approx(
        float(sol.log_C[-1]), rel=1e-8
    )
    p = g.GrowthParams(phi=0.5, delta=0.5, alpha=0.2, alpha_crit=0.5)
    assert float(g.closed_form(50.0, p, 1.0)) == pytest.approx(-25.0, rel=1e-14)


def test_steady_state_is_zero_without_improvement():
    # a = 0 (indicator off), Phi < 1, delta > 0: C = C0 e^{-delta t} -> C* = 0, was inf
    p = g.GrowthParams(phi=0.5, delta=0.5, alpha=0.2, alpha_crit=0.5)
    assert float(g.steady_state(p)) == 0.0
    p = g.GrowthParams(
        phi=0.5, delta=0.5, alpha=0.2, alpha_crit=0.5, delta_g=[1.0, 2.0]
    )
    np.testing.assert_array_equal(g.steady_state(p), [0.0, 0.0])
    p = g.GrowthParams(phi=0.5, delta=0.5, delta_g=2.0)  # a = 1: C* = (a/d)^2 = 4
    assert float(g.steady_state(p)) == pytest.approx(4.0, rel=1e-14)


@pytest.mark.parametrize(
    "kw",
    [dict(phi=0.5, delta=0.5, alpha=0.2, alpha_crit=0.5), dict(phi=1.0, delta=0.5)],
)
def test_regime_from_trajectory_needs_a_tail_window(kw):
    # One save time: g[..., -k] clamped to the only point and span = 0, so both the
    # decaying and the regime-(b) point were classified (a).
    p = g.GrowthParams(delta_g=2.0, **kw)
    with pytest.raises(ValueError, match="sol.ts"):
        g.regime_from_trajectory(g.solve(p, 1.0, 100.0, ts=[100.0]))
    with pytest.raises(ValueError, match="sol.ts"):
        g.regime_from_trajectory(g.solve(p, 1.0, 100.0, ts=[0.0, 100.0, 100.0]))
    # traced ts: reported as -1, not a regime
    sol = g.solve(p, 1.0, 100.0, ts=[0.0, 100.0, 100.0])
    code = jax.jit(lambda s: g.regime_from_trajectory(s))(sol)
    assert int(code) == -1
    full = g.regime_from_trajectory(g.solve(p, 1.0, 100.0))
    assert int(full) == int(g.regime_from_params(p)) != g.REGIME_A


@pytest.mark.parametrize("phi", [0.5, 1.0, 1.5])
@pytest.mark.parametrize("h", [0.0, 1.0])
def test_constant_trajectory_is_regime_a(phi, h):
    # a = 0, delta = 0: C = C0 for all t; was classified decay for Phi != 1
    p = g.GrowthParams(phi=phi, delta=0.0, h=h, alpha=0.2, alpha_crit=0.5)
    sol = g.solve(p, 2.0, 10.0)
    np.testing.assert_allclose(sol.log_C, np.log(2.0), rtol=0, atol=1e-14)
    assert int(g.regime_from_params(p, 2.0)) == g.REGIME_A
    assert int(g.regime_from_trajectory(sol)) == g.REGIME_A


def test_variety_grows_without_ceiling():
    # J_max = inf ("no ceiling") switched (28) off: J stayed at J0 with status successful.
    # Phi = 1, gamma_J = 0: ln C = ln C0 + r t, r = a - delta, and with no ceiling
    # dJ/dt = eta_J f_J C^phi_J, so J = J0 + eta_J f_J C0^phi_J (e^{phi_J r t} - 1)/(phi_J r).
    eta, f_J, phi_J, C0 = 0.7, 0.8, 0.5, 2.0
    p = g.GrowthParams(delta_g=1.0, phi=1.0, delta=0.1, eta_J=eta, f_J=f_J, phi_J=phi_J)
    r = float(p.a()) - 0.1
    sol = g.solve(p, C0, 5.0, n_save=11)
    assert sol.status == RESULTS.successful
    ts = np.asarray(sol.ts)
    ref = 1.0 + eta * f_J * C0**phi_J * np.expm1(phi_J * r * ts) / (phi_J * r)
    np.testing.assert_allclose(sol.J, ref, rtol=1e-8)
    # the limit J_max -> inf of (28) with eta_J * J_max fixed
    far = g.GrowthParams(
        delta_g=1.0,
        phi=1.0,
        delta=0.1,
        eta_J=eta * 1e-9,
        J_max=1e9,
        f_J=f_J,
        phi_J=phi_J,
    )
    np.testing.assert_allclose(g.solve(far, C0, 5.0, n_save=11).J, ref, rtol=1e-7)
    # the auditor's point: J feeds back into C (gamma_J = 1)
    p = g.GrowthParams(phi=0.5, eta_J=1.0, f_J=1.0, phi_J=0.5, gamma_J=1.0)
    sol = g.solve(p, 1.0, 5.0)
    assert sol.status == RESULTS.successful
    assert float(sol.J[-1]) > 5.0


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_J_overflow_is_reported(dtype):
    # J = e^{6t} passes the float maximum before t1: the solve stalled just below it and
    # reported max_steps_reached (J NaN after), not overflow.
    p = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), g.GrowthParams(g_J=6.0))
    sol = g.solve(p, jnp.asarray(1.0, dtype), 300.0)
    assert sol.status == RESULTS.overflow
    t_end = float(sol.t_end)
    log_max = np.log(float(jnp.finfo(dtype).max))
    assert (log_max - 20 * np.log(2) - 1) / 6 < t_end < log_max / 6
    before = np.asarray(sol.ts) <= t_end
    J_ref = np.exp(6.0 * np.asarray(sol.ts, np.float64)[before])
    np.testing.assert_allclose(np.asarray(sol.J)[before], J_ref, rtol=1e-3)


@pytest.mark.parametrize(
    "phi, delta, c0, t",
    [
        (0.6, 0.05, 1.0, 0.0),
        (1.3, 0.05, 1.0, 0.0),
        (0.6, 0.0, 1.0, 0.0),
        (1.3, 0.0, 1.0, 0.0),
        (0.6, 0.05, 50.0, 0.0),
        (0.6, 0.05, 50.0, 3.0),
        (2.0, 1.0, 0.2, 100.0),
    ],
)
def test_closed_form_gradient_is_finite_and_right(phi, delta, c0, t):
    """d ln C / d phi of `closed_form` against a central difference (x64). At t = 0 the
    log-space branch holds ln 0 (it is not taken there) and gave NaN gradients through
    jnp.where; far from v = 1 the near branch's exp overflowed and did the same."""

    def f(ph):
        p = g.GrowthParams(delta_g=1.0, f=0.5, lam=1.0, phi=ph, delta=delta)
        return g.closed_form(t, p, c0)

    grad = float(jax.grad(f)(phi))
    h = 1e-6
    fd = (float(f(phi + h)) - float(f(phi - h))) / (2 * h)
    assert np.isfinite(grad)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
