"""Contract specs for meshjax.growth, meshjax.calibration and meshjax.collapse (tiny sizes)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from contract import Count, Real, Spec

from meshjax import RESULTS, calibration as cal, collapse as col, growth as gr

POS = Real(0.0, low_open=True)  # (0, inf)
NONNEG = Real(0.0)  # [0, inf)
UNIT = Real(0.0, 1.0)  # [0, 1]
RHO = Real(high=1.0, high_open=True)  # (-inf, 1)
NAN = math.nan


def _solve_phi(phi):
    """`growth.solve` swept over the training elasticity (issue 12's `sweep` over phi)."""
    return gr.solve(gr.GrowthParams(phi=phi), 1.0, 2.0, n_save=3)


def _fake_solution():
    ts = jnp.linspace(0.0, 1.0, 8)
    return gr.GrowthSolution(
        ts=ts,
        log_C=0.1 * ts[None, :] * jnp.ones((2, 1)),
        J=jnp.ones((2, 8)),
        t_end=jnp.ones(2),
        growth_rate=0.1 * jnp.ones((2, 8)),
        status=RESULTS.successful,
    )


def _fake_fit():
    zero = jnp.zeros(())
    params = {
        k: jnp.asarray(v) for k, v in dict(a=0.5, Phi=0.6, delta=0.2, C0=1.0).items()
    }
    return cal.FitResult(
        params=params,
        stderr={k: 0.01 + zero for k in params},
        cov=jnp.eye(4) * 1e-4,
        loss=zero,
        sigma=zero + 0.01,
        n_steps=1,
        names=cal.NAMES,
        status=RESULTS.successful,
    )


_TS = np.linspace(0.0, 10.0, 8)
_C_OBS = np.exp(0.1 * _TS + 0.01 * np.sin(3.0 * _TS))
_P = gr.GrowthParams()
_A = np.full((2, 2), 0.5)

SPECS = [
    # ------------------------------------------------------------------ growth: params
    Spec(
        gr.GrowthParams,
        dict(phi=0.5),
        sweep=dict(phi=(0.3, 0.7)),
        domains=dict(
            delta_g=POS,
            f=Real(0.0, 1.0, low_open=True, high_open=True),
            lam=Real(0.0, 1.0, low_open=True),
            gamma_J=NONNEG,
            delta=NONNEG,
            h=NONNEG,
            J0=POS,
            g_J=Real(),
            eta_J=NONNEG,
            f_J=UNIT,
            alpha=UNIT,
            alpha_crit=UNIT,
        ),
        bad=[("J_max", NAN), ("J_max", 0.0), ("J_max", -math.inf)],
    ),
    Spec(
        gr.phi_eff,
        dict(phi0=0.6, beta_auto=0.3),
        sweep=dict(phi0=(0.6, 0.8), beta_auto=(0.1, 0.3)),
        domains=dict(
            phi0=Real(high=1.0, high_open=True),
            beta_auto=Real(0.0, 1.0, high_open=True),
        ),
    ),
    Spec(
        gr.beta_threshold,
        dict(phi0=0.6),
        sweep=dict(phi0=(0.6, 0.8)),
        domains=dict(phi0=Real(0.0, 1.0, low_open=True, high_open=True)),
    ),
    Spec(
        gr.composite_elasticity,
        dict(lam=1.0, phi=0.5),
        sweep=dict(lam=(0.5, 1.0), phi=(0.5, 1.5)),
        domains=dict(lam=Real(0.0, 1.0, low_open=True), phi=Real()),
    ),
    # ------------------------------------------------------------------ growth: solve
    Spec(
        gr.solve,
        dict(params=_P, C0=1.0, t1=2.0, n_save=3),
        driver=True,
        sweep=dict(C0=(0.5, 1.0), t1=(1.0, 2.0)),
        domains=dict(C0=POS, t1=POS, n_save=Count(2)),
        bad=[
            ("rtol", -1.0),
            ("rtol", NAN),
            ("atol", 0.0),
            ("blowup_factor", 0.5),
            ("max_steps", 0),
            ("params", None),
            ("ts", np.array([0.0, 3.0])),
        ],
    ),
    Spec(
        _solve_phi,
        dict(phi=0.5),
        driver=True,
        sweep=dict(phi=(0.3, 0.7)),
        domains=dict(phi=Real()),
        id="meshjax.growth.solve[phi swept through GrowthParams]",
    ),
    # ------------------------------------------------------------------ closed forms
    Spec(
        gr.closed_form,
        dict(t=1.0, params=_P, C0=1.0),
        sweep=dict(t=(0.5, 1.0), C0=(0.5, 1.0)),
        domains=dict(t=NONNEG, C0=POS),
    ),
    Spec(
        gr.closed_form_exp_variety,
        dict(t=1.0, params=gr.GrowthParams(phi=1.0, gamma_J=0.5, g_J=0.1), C0=1.0),
        sweep=dict(t=(0.5, 1.0), C0=(0.5, 1.0)),
        domains=dict(t=NONNEG, C0=POS),
    ),
    Spec(
        gr.singularity_time,
        dict(params=gr.GrowthParams(phi=1.5), C0=1.0),
        sweep=dict(C0=(0.5, 1.0)),
        domains=dict(C0=POS),
    ),
    Spec(
        gr.blowup_time,
        dict(params=gr.GrowthParams(phi=1.5, delta=0.1), C0=1.0),
        sweep=dict(C0=(0.5, 1.0)),
        domains=dict(C0=POS),
    ),
    Spec(
        gr.unstable_point,
        dict(params=gr.GrowthParams(phi=1.5, delta=0.1)),
        bad=[("params", None), ("params", 1.0)],
    ),
    Spec(
        gr.steady_state,
        dict(params=gr.GrowthParams(delta=0.1)),
        bad=[("params", None), ("params", 1.0)],
    ),
    # ------------------------------------------------------------------ regimes
    Spec(
        gr.regime_from_params,
        dict(params=_P, C0=1.0, tol=1e-9),
        sweep=dict(C0=(0.5, 1.0), tol=(1e-9, 1e-6)),
        bad=[("C0", -1.0), ("C0", NAN), ("tol", -1.0), ("params", None)],
    ),
    Spec(
        gr.regime_from_trajectory,
        dict(sol=_fake_solution(), tail=0.25, rate_tol=1e-3, decay_log=-20.0),
        sweep=dict(rate_tol=(1e-3, 1e-2), decay_log=(-20.0, -10.0)),
        bad=[
            ("tail", 0.0),
            ("tail", 0.7),
            ("tail", NAN),
            ("rate_tol", -1.0),
            ("decay_log", 1.0),
            ("sol", None),
        ],
    ),
    # ------------------------------------------------------------------ saturation
    Spec(
        gr.saturation_ceiling,
        dict(h=1.0, delta=0.5),
        sweep=dict(h=(1.0, 2.0), delta=(0.5, 0.25)),
        domains=dict(h=POS, delta=POS),
    ),
    Spec(
        gr.perron_root,
        dict(A=_A),
        bad=[("A", -_A), ("A", np.ones((2, 3))), ("A", np.full((2, 2), NAN))],
    ),
    Spec(
        gr.saturation_solve,
        dict(A=_A, h=1.0, delta=0.3, C0=np.full(2, 0.1), t1=1.0, n_save=3),
        driver=True,
        sweep=dict(h=(1.0, 2.0), delta=(0.3, 0.2), t1=(1.0, 2.0)),
        domains=dict(h=POS, delta=POS, t1=POS, n_save=Count(2)),
        bad=[("C0", np.ones(3)), ("C0", -np.ones(2)), ("A", -_A), ("rtol", -1.0)],
    ),
    # ------------------------------------------------------------------ variety
    Spec(
        gr.ces_aggregate,
        dict(C=np.array([1.0, 2.0, 3.5]), rho=0.5),
        sweep=dict(rho=(0.5, -0.5)),
        domains=dict(rho=RHO),
        bad=[
            ("axis", 1),
            ("axis", -2),
            ("convention", "bogus"),
            ("C", -np.ones(3)),
            ("C", 1.0),
        ],
    ),
    Spec(
        gr.c_max_bound,
        dict(J=4.0, rho=0.5, h=1.0, delta=0.5),
        sweep=dict(J=(4.0, 8.0), rho=(0.5, -0.5), h=(1.0, 2.0), delta=(0.5, 0.2)),
        domains=dict(J=Real(1.0), rho=RHO, h=POS, delta=POS),
        bad=[("rho", 0.0)],
    ),
    Spec(
        gr.c_max,
        dict(J_max=4.0, rho=0.5, h=1.0, delta=0.5),
        sweep=dict(J_max=(4.0, 8.0), rho=(0.5, -0.5), h=(1.0, 2.0), delta=(0.5, 0.2)),
        domains=dict(J_max=Real(1.0), rho=RHO, h=POS, delta=POS),
        bad=[("rho", 0.0)],
    ),
    Spec(
        gr.dceff_dJ,
        dict(C=np.array([1.0, 2.0, 3.5]), c_new=1.7, rho=0.5),
        sweep=dict(c_new=(1.7, 2.5), rho=(0.5, 1e-7)),
        domains=dict(c_new=POS, rho=RHO),
        bad=[("C", np.array([1.0, 0.0])), ("convention", "bogus")],
    ),
    Spec(
        gr.variety_solve,
        dict(
            a_s=1.0,
            h=1.0,
            delta=0.2,
            eta_J=0.5,
            f_J=0.2,
            phi_J=0.3,
            J0=2.0,
            J_max=20.0,
            rho=0.5,
            c0=0.1,
            t1=1.0,
            n_save=3,
        ),
        driver=True,
        sweep=dict(a_s=(1.0, 2.0), rho=(0.5, 0.25), t1=(1.0, 2.0)),
        domains=dict(
            a_s=POS, h=POS, delta=POS, eta_J=NONNEG, f_J=UNIT, rho=RHO, c0=POS, t1=POS
        ),
        bad=[("J_max", 1.5), ("J0", 0.5), ("convention", "x"), ("n_save", 1)],
    ),
    # ------------------------------------------------------------------ Baumol
    Spec(
        gr.BaumolParams,
        dict(g_Z=0.05),
        sweep=dict(g_Z=(0.03, 0.05)),
        domains=dict(beta0=Real(0.0, 1.0, high_open=True), tau=POS, p=POS, rho_s=RHO),
        bad=[("schedule", "linear")],
    ),
    Spec(
        gr.baumol_solve,
        dict(
            growth=gr.GrowthParams(phi=1.0),
            baumol=gr.BaumolParams(),
            C1_0=1.0,
            Z0=1.0,
            t1=2.0,
            n_save=3,
        ),
        driver=True,
        sweep=dict(C1_0=(1.0, 2.0), Z0=(1.0, 0.5)),
        domains=dict(C1_0=POS, Z0=POS, t1=POS),
        bad=[("baumol", None), ("growth", None)],
    ),
    # ------------------------------------------------------------------ calibration
    Spec(
        cal.model_log_c,
        dict(ts=np.linspace(0.0, 1.0, 3), a=0.5, Phi=0.6, delta=0.2, C0=1.0),
        sweep=dict(a=(0.5, 0.6), Phi=(0.6, 0.5), delta=(0.2, 0.1), C0=(1.0, 2.0)),
        domains=dict(a=POS, Phi=Real(), delta=NONNEG, C0=POS),
        bad=[("ts", np.array([1.0]))],
    ),
    Spec(
        cal.fit,
        dict(ts=_TS, C_obs=_C_OBS, fit_delta=False),
        driver=True,
        bad=[
            ("ts", _TS[::-1]),
            ("C_obs", -_C_OBS),
            ("C_obs", _C_OBS[:-1]),
            ("n_steps", 0),
            ("gtol", -1.0),
            ("xtol", NAN),
            ("fit_delta", 1),
            ("init", {"lam": 1.0}),
        ],
    ),
    Spec(
        cal.phi_from_fit,
        dict(result=_fake_fit(), lam=0.9),
        driver=True,
        sweep=dict(lam=(0.9, 1.0)),
        domains=dict(lam=Real(0.0, 1.0, low_open=True)),
        bad=[("result", None)],
    ),
    # ------------------------------------------------------------------ collapse
    Spec(
        col.diversity_correction,
        dict(rho=0.5, J=5.0),
        sweep=dict(rho=(0.5, 0.25), J=(5.0, 10.0)),
        domains=dict(rho=Real(0.0, 1.0, high_open=True), J=Real(1.0)),
        bad=[("negative_rho", "abs")],
    ),
    Spec(
        col.alpha_eff,
        dict(alpha_ext=0.2, rho=0.5, J=5.0),
        sweep=dict(alpha_ext=(0.2, 0.1), rho=(0.5, 0.25), J=(5.0, 10.0)),
        domains=dict(alpha_ext=UNIT, rho=Real(0.0, 1.0, high_open=True), J=Real(1.0)),
    ),
    Spec(
        col.avoids_collapse,
        dict(alpha_ext=0.2, rho=0.5, J=5.0, alpha_crit=0.5),
        sweep=dict(alpha_ext=(0.2, 0.1), alpha_crit=(0.5, 0.3)),
        bad=[("alpha_ext", -0.1), ("alpha_crit", 1.5), ("rho", 1.0), ("J", 0.5)],
    ),
    Spec(
        col.d_threshold,
        dict(alpha_ext=0.2, alpha_crit=0.5),
        sweep=dict(alpha_ext=(0.2, 0.1), alpha_crit=(0.5, 0.3)),
        domains=dict(alpha_ext=Real(0.0, 1.0, high_open=True), alpha_crit=UNIT),
    ),
    Spec(
        col.j_min,
        dict(rho=0.5, alpha_ext=0.1, alpha_crit=0.5),
        sweep=dict(rho=(0.5, 0.2), alpha_ext=(0.1, 0.2), alpha_crit=(0.5, 0.4)),
        domains=dict(
            rho=Real(0.0, 1.0, high_open=True),
            alpha_ext=Real(0.0, 1.0, high_open=True),
            alpha_crit=UNIT,
        ),
    ),
    Spec(
        col.j_min_chapter,
        dict(rho=0.5, alpha_ext=0.1, alpha_crit=0.5),
        sweep=dict(rho=(0.5, 0.2), alpha_ext=(0.1, 0.2), alpha_crit=(0.5, 0.4)),
        domains=dict(
            rho=Real(0.0, 1.0, high_open=True),
            alpha_ext=Real(0.0, 1.0, high_open=True),
            alpha_crit=UNIT,
        ),
    ),
    Spec(
        col.gaussian_kl,
        dict(mu=0.1, var=1.2),
        sweep=dict(mu=(0.1, -0.2), var=(1.2, 0.8)),
        domains=dict(mu=Real(), var=POS),
    ),
    Spec(
        col.stationary_kl_single,
        dict(alpha=0.5, n_samples=50.0),
        sweep=dict(alpha=(0.5, 0.2), n_samples=(50.0, 100.0)),
        domains=dict(alpha=UNIT, n_samples=Real(1.0)),
    ),
    Spec(
        col.simulate_collapse,
        dict(key=0, J=2, alpha_ext=0.3, n_samples=4, n_steps=2),
        key=True,
        driver=True,
        sweep=dict(alpha_ext=(0.3, 0.6)),
        domains=dict(alpha_ext=UNIT, n_samples=Count(2), n_steps=Count(1)),
        bad=[("J", 2.5), ("J", 0), ("source", "self"), ("ddof", 2)],
    ),
]

_RESULT = "a result container (eqx.Module of documented fields), built by its driver"
EXEMPT = {
    "meshjax.growth._solve.GrowthSolution": _RESULT,
    "meshjax.growth._saturation.SaturationSolution": _RESULT,
    "meshjax.growth._variety.VarietySolution": _RESULT,
    "meshjax.growth._baumol.BaumolSolution": _RESULT,
    "meshjax.calibration.FitResult": _RESULT,
    "meshjax.calibration.PhiEstimate": _RESULT,
    "meshjax.collapse.CollapseRun": _RESULT,
    "meshjax.growth._solve.vector_field": (
        "the ODE right-hand side handed to diffrax: it returns the derivative in the "
        "state's pytree structure (a tuple (d ln C/dt, dJ/dt)), unchecked in the hot loop"
    ),
    "meshjax.growth._saturation.saturation_vector_field": (
        "the ODE right-hand side of (26) handed to diffrax (args tuple as diffrax "
        "passes it), unchecked in the hot loop; saturation_solve validates"
    ),
}
