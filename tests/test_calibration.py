"""Tests for meshjax.calibration.fit: recovery of (a, Phi, delta, C0) from noisy C(t)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from meshjax import RESULTS, calibration as cal

TRUE = dict(a=0.5, Phi=0.6, delta=0.2, C0=1.0)  # regime (a): C* = 2.5**2.5
TS = np.linspace(0.0, 60.0, 61)
SIGMA = 0.02


def _data(seed):
    y = np.asarray(cal.model_log_c(TS, **TRUE))
    return np.exp(y + SIGMA * np.random.default_rng(seed).standard_normal(TS.shape))


@pytest.fixture(scope="module")
def fits():
    return [cal.fit(TS, _data(seed)) for seed in range(3)]


def test_recovers_parameters_within_stated_error(fits):
    for r in fits:
        assert r.status == RESULTS.successful
        for k, v in TRUE.items():
            z = (r.params[k] - v) / r.stderr[k]
            assert abs(z) < 4, (k, r.params[k], r.stderr[k])
        # the residual scale estimates the noise level (m = 61 points, 4 parameters)
        assert abs(r.sigma / SIGMA - 1) < 4 * np.sqrt(1 / (2 * 57))


def test_model_log_c_is_nan_for_a_failed_solve():
    y = np.asarray(cal.model_log_c(TS, a=1.0, Phi=2.0, delta=0.0, C0=1.0))  # blows up
    assert np.isnan(y).all()


def test_stated_error_matches_spread_across_datasets(fits):
    # three independent datasets: their z-scores are jointly consistent with N(0, 1)
    z = np.array(
        [[(r.params[k] - v) / r.stderr[k] for k, v in TRUE.items()] for r in fits]
    )
    assert np.mean(z**2) < 4.0  # chi^2_12 / 12 < 4 with probability > 0.9999
    assert all(r.stderr["Phi"] < 0.1 for r in fits)  # phi_eff resolved to +-0.1


def test_phi_from_fit(fits):
    est = cal.phi_from_fit(fits[0], lam=0.9)
    assert float(est.phi_eff) == pytest.approx(float(fits[0].params["Phi"]) + 0.1)
    assert est.stderr == fits[0].stderr["Phi"]
    assert est.status == fits[0].status
    with pytest.raises(ValueError, match="lam"):
        cal.phi_from_fit(fits[0], lam=0.0)


def test_bad_inputs_raise():
    c = _data(0)
    with pytest.raises(ValueError, match="C_obs"):
        cal.fit(TS, -c)
    with pytest.raises(ValueError, match="C_obs"):
        cal.fit(TS, np.where(TS > 10, np.nan, c))
    with pytest.raises(ValueError, match="shape"):
        cal.fit(TS[:-1], c)
    with pytest.raises(ValueError, match="increasing"):
        cal.fit(TS[::-1], c)
    with pytest.raises(ValueError, match="observations"):
        cal.fit(TS[:4], c[:4])
    with pytest.raises(ValueError, match="unknown `init`"):
        cal.fit(TS, c, init={"lambda": 1.0})
    with pytest.raises(ValueError, match="init"):
        cal.fit(TS, c, init={"a": -1.0})
    with pytest.raises(ValueError, match="n_steps"):
        cal.fit(TS, c, n_steps=0)
    with pytest.raises(ValueError, match="gtol"):
        cal.fit(TS, c, gtol=-1.0)


def test_float32_noise_free_fit_is_right_or_says_so():
    # issue 12: in float32 on noise-free data the fit returned delta = 0.0155 +- 0.003
    # (true 0.05) and converged=True: the L-BFGS loop declared convergence when float32
    # round-off stopped the loss from decreasing (a relative ftol of 1e-13).
    true = dict(a=0.1, Phi=0.8, delta=0.05, C0=0.5)
    with jax.enable_x64(False):
        ts = np.linspace(0.0, 60.0, 61)
        y = np.asarray(cal.model_log_c(ts, **true))
        assert y.dtype == np.float32
        r = cal.fit(ts, np.exp(y))
    for k, v in true.items():
        est, se = float(r.params[k]), float(r.stderr[k])
        assert abs(est - v) < 1e-3 * abs(v), (k, est, se)
        if r.status == RESULTS.successful:
            assert abs(est - v) < 4 * se, (k, est, se)


def test_fit_that_cannot_start_is_not_successful():
    # audit: the solve blew up at init, residuals became a constant 1e3, the Jacobian
    # was 0 and the gtol test passed trivially: status successful, n_steps 0, stderr 0
    ts = np.linspace(0.0, 10.0, 21)
    c = np.exp(np.asarray(cal.model_log_c(ts, 0.3, 0.5, 0.1, 1.0)))
    r = cal.fit(ts, c, init={"Phi": 3.0, "a": 1.0})
    assert r.status == RESULTS.solver_failed
    assert not bool(r.is_successful())
    assert r.n_steps == 0
    assert float(r.params["Phi"]) == 3.0 and float(r.params["a"]) == 1.0
    assert all(np.isnan(float(v)) for v in r.stderr.values())
    assert np.isnan(float(r.loss))


def test_zero_jacobian_never_passes_gtol(monkeypatch):
    # a solved model whose Jacobian is 0 (no parameter has an effect) is not optimal
    def res_jac(u, ts, y_obs):
        return jnp.ones_like(y_obs), jnp.zeros((y_obs.shape[0], u.shape[0])), True

    monkeypatch.setattr(cal, "_compiled", lambda fit_delta: res_jac)
    r = cal.fit(TS, _data(0), n_steps=3)
    assert r.status != RESULTS.successful


@pytest.mark.parametrize("ts", [[0.0, 2.0, 1.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
def test_model_log_c_rejects_non_increasing_ts(ts):
    # audit: [0, 2, 1] crashed inside diffrax, [2, 1, 0] integrated backwards
    with pytest.raises(ValueError, match="`ts`.*strictly increasing"):
        cal.model_log_c(ts, 0.5, 0.5, 0.1, 1.0)
    traced = jax.jit(lambda t: cal.model_log_c(t, 0.5, 0.5, 0.1, 1.0))
    assert np.isnan(np.asarray(traced(jnp.asarray(ts)))).all()
    assert np.isfinite(np.asarray(traced(jnp.asarray([0.0, 1.0, 2.0])))).all()
