"""Tests for meshjax.raf: maxRAF vs a plain-Python reference, hand-made systems,
binary polymer thresholds, the mesh system and (18), bad input."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from meshjax import RESULTS, raf

# ------------------------------------------------------------------ plain-Python reference


def ref_closure(rea, pro, food, reactions):
    """cl_R'(F) by repeated firing, sets only."""
    cl = {x for x in range(len(food)) if food[x]}
    changed = True
    while changed:
        changed = False
        for r in reactions:
            ins = set(np.flatnonzero(rea[r]))
            if ins <= cl:
                outs = set(np.flatnonzero(pro[r]))
                if not outs <= cl:
                    cl |= outs
                    changed = True
    return cl


def ref_max_raf(rea, cat, pro, food):
    """Hordijk–Steel, written independently with Python sets."""
    current = set(range(rea.shape[0]))
    while True:
        cl = ref_closure(rea, pro, food, current)
        keep = {
            r
            for r in current
            if set(np.flatnonzero(rea[r])) <= cl and set(np.flatnonzero(cat[r])) & cl
        }
        if keep == current:
            return current
        current = keep


def ref_is_raf(rea, cat, pro, food, subset):
    if not subset:
        return False
    cl = ref_closure(rea, pro, food, subset)
    return all(
        set(np.flatnonzero(rea[r])) <= cl and set(np.flatnonzero(cat[r])) & cl
        for r in subset
    )


S_PAD, R_PAD = 9, 12  # one shape for all single small systems: one compile


def from_dense_padded(rea, cat, pro, food):
    """Pads to (R_PAD, S_PAD) with unused types and uncatalysed reactions (which no RAF
    contains), so that every small test system shares one compiled maxRAF."""
    r, s = rea.shape
    pad = lambda m: np.pad(m, ((0, R_PAD - r), (0, S_PAD - s)))
    return raf.ReactionSystem.from_dense(
        pad(rea),
        pad(cat),
        pad(pro),
        np.pad(food, (0, S_PAD - s)),
        max_reactants=2,
        max_products=2,
        max_catalysts=S_PAD * R_PAD,
    )


def random_dense(rng, s, r):
    rea = np.zeros((r, s), bool)
    pro = np.zeros((r, s), bool)
    for i in range(r):
        rea[i, rng.choice(s, rng.integers(0, 3), replace=False)] = True
        pro[i, rng.choice(s, rng.integers(1, 3), replace=False)] = True
    cat = rng.random((r, s)) < rng.uniform(0.02, 0.25)
    food = np.zeros(s, bool)
    food[rng.choice(s, rng.integers(1, 4), replace=False)] = True
    return rea, cat, pro, food


def stack(systems):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *systems)


def mask_to_set(mask):
    return set(np.flatnonzero(np.asarray(mask)).tolist())


# ------------------------------------------------------------------ exact agreement


def test_max_raf_matches_reference_on_random_systems():
    rng = np.random.default_rng(0)
    s, r, n_sys = S_PAD, R_PAD, 300
    dense = [random_dense(rng, s, r) for _ in range(n_sys)]
    systems = [
        raf.ReactionSystem.from_dense(
            *d, max_reactants=2, max_products=2, max_catalysts=s * r
        )
        for d in dense
    ]
    batch = stack(systems)
    got = np.asarray(raf.max_raf(batch))  # vmapped over the 400 instances
    n_nonempty = 0
    for d, m in zip(dense, got):
        want = ref_max_raf(*d)
        assert mask_to_set(m) == want
        n_nonempty += bool(want)
    # the ensemble exercises both outcomes
    assert 50 < n_nonempty < n_sys - 50
    # is_raf of the maxRAF, and closure, vs the reference
    isr = np.asarray(raf.is_raf(batch, jnp.asarray(got)))
    cl = np.asarray(raf.closure(batch, jnp.asarray(got)))
    for d, m, i, c in zip(dense, got, isr, cl):
        rea, cat, pro, food = d
        assert i == bool(m.any())
        assert mask_to_set(c) == ref_closure(rea, pro, food, mask_to_set(m))
    # random subsets: is_raf vs the reference
    subsets = rng.random((n_sys, r)) < 0.5
    isr = np.asarray(raf.is_raf(batch, jnp.asarray(subsets)))
    for d, sub, i in zip(dense, subsets, isr):
        assert i == ref_is_raf(*d, mask_to_set(sub))


def test_single_instance_and_jit_agree():
    rng = np.random.default_rng(1)
    d = random_dense(rng, S_PAD, R_PAD)
    sys1 = from_dense_padded(*d)
    m = raf.max_raf(sys1)
    assert mask_to_set(m) == ref_max_raf(*d)
    m_jit = jax.jit(raf.max_raf)(sys1)
    np.testing.assert_array_equal(m, m_jit)


def test_dense_roundtrip():
    rng = np.random.default_rng(2)
    d = random_dense(rng, 6, 8)
    back = raf.ReactionSystem.from_dense(*d, max_catalysts=60).to_dense()
    for a, b in zip(d, back):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ hand-made systems


def dense_from_lists(s, reactions, food):
    """reactions: list of (reactants, catalysts, products) index lists."""
    r = len(reactions)
    rea, cat, pro = (np.zeros((r, s), bool) for _ in range(3))
    for i, (a, c, b) in enumerate(reactions):
        rea[i, a] = True
        cat[i, c] = True
        pro[i, b] = True
    f = np.zeros(s, bool)
    f[food] = True
    return rea, cat, pro, f


def run(s, reactions, food):
    d = dense_from_lists(s, reactions, food)
    got = mask_to_set(raf.max_raf(from_dense_padded(*d)))
    assert got == ref_max_raf(*d)
    return got


def test_hand_made_none():
    # the only catalyst (type 3) is never produced
    assert run(4, [([0, 0], [3], [1]), ([1], [3], [2])], [0]) == set()


def test_hand_made_all():
    # every reaction catalysed by a food type
    got = run(5, [([0, 1], [0], [2]), ([2], [1], [3]), ([3, 0], [0], [4])], [0, 1])
    assert got == {0, 1, 2}


def test_hand_made_chain_missing_one_catalyst():
    # chain 0 -> 1 -> 2 -> 3; r0 and r1 are catalysed by the end product 3
    chain = [([0], [3], [1]), ([1], [3], [2])]
    # r2 catalysed by type 4, which nothing makes: the whole chain collapses
    assert run(5, chain + [([2], [4], [3])], [0]) == set()
    # the same chain with that one catalyst present (type 1) is a RAF, all of it
    assert run(5, chain + [([2], [1], [3])], [0]) == {0, 1, 2}


def test_hand_made_self_catalysed_by_own_product():
    # 0 -> 1 catalysed only by its own product 1: a RAF in Hordijk–Steel's sense
    assert run(4, [([0], [1], [1]), ([1], [3], [2])], [0]) == {0}
    # but not if its reactant is not food-generated
    assert run(3, [([2], [1], [1])], [0]) == set()


def test_empty_reactant_list_and_padding():
    # a reaction with no reactants and a food catalyst fires from nothing
    assert run(3, [([], [0], [2])], [0]) == {0}


# ------------------------------------------------------------------ binary polymer model


def test_polymer_sizes_and_structure():
    for n in range(2, 9):
        size = raf.binary_polymer_size(n)
        s, r = size.n_types, size.n_reactions
        assert s == 2 ** (n + 1) - 2
        assert r == 2 * sum((L - 1) * 2**L for L in range(2, n + 1))
    system = raf.binary_polymer(jr.key(0), 4, 2.0)
    assert np.asarray(system.food).sum() == 6
    # every reaction conserves total length (type index -> length; sentinel -> 0)
    lengths = np.concatenate([np.full(2**L, L) for L in range(1, 5)] + [[0]])
    np.testing.assert_array_equal(
        lengths[np.asarray(system.reactants)].sum(1),
        lengths[np.asarray(system.products)].sum(1),
    )
    # the closure of food under all reactions is every polymer
    assert np.asarray(raf.closure(system, jnp.ones(system.n_reactions, bool))).all()


N_INST = 24
F_MAX = 6.0


@pytest.fixture(scope="module")
def polymer_ensembles():
    """Coupled binary polymer ensembles (levels in f units) and their thresholds."""
    out = {}
    key = jr.key(7)
    for n, rev in ((6, False), (8, False), (6, True)):
        keys = jr.split(jr.fold_in(key, 10 * n + rev), N_INST)
        out_n = raf.binary_polymer_levels(keys, n, F_MAX, reversible=rev)
        assert bool(np.all(out_n.is_successful()))
        systems, levels = out_n.system, out_n.levels
        out[n, rev] = systems, levels, np.asarray(raf.raf_threshold(systems, levels))
    return out


def test_polymer_catalysis_rate(polymer_ensembles):
    # mean catalysed reactions per type is f: per direction, or per reversible pair
    f = 3.0
    for (n, rev), (systems, levels, _) in polymer_ensembles.items():
        s = raf.binary_polymer_size(n).n_types
        per_type = np.sum(np.asarray(levels) <= f, axis=1) / s / (2 if rev else 1)
        se = math.sqrt(f / s / N_INST)  # Binomial(s r, f / r) / s, ~ Poisson
        assert abs(per_type.mean() - f) < 5 * se


def test_threshold_is_coupled_p_raf(polymer_ensembles):
    # has RAF at f  <=>  threshold <= f, instance by instance
    systems, levels, th = polymer_ensembles[6, False]
    for f in (1.0, 2.0, 3.0):
        thinned = raf.thin_catalysis(systems, levels, f)
        has = np.asarray(raf.max_raf(thinned)).any(axis=1)
        np.testing.assert_array_equal(has, th <= f)
    # and against the plain-Python reference for a few instances at their threshold
    for i in range(3):
        one = jax.tree.map(lambda x: x[i], systems)
        for f, want in ((th[i] * (1 - 1e-9), False), (th[i], True)):
            d = raf.thin_catalysis(one, levels[i], f).to_dense()
            assert bool(ref_max_raf(*d)) == want


def test_polymer_transition_order_one_and_sublinear_in_n(polymer_ensembles):
    med = {}
    for n in (6, 8):
        th = polymer_ensembles[n, False][2]
        # P(RAF) rises from small to ~1 (per-direction convention). Small n has a
        # finite-size tail of one-reaction RAFs (food reactants + food catalyst), with
        # probability ~ 1 - exp(-40 * 6 * f / |R|): 0.06 at n = 6, f = 0.25.
        assert np.mean(th <= 0.25) <= 0.25
        assert np.mean(th <= F_MAX) >= 0.9
        med[n] = np.median(th)
        # f at P(RAF) = 1/2 is of order 1: between 1 and 3 with this convention
        assert 1.0 < med[n] < 3.0
    assert np.mean(polymer_ensembles[8, False][2] <= 0.5) <= 0.15
    # f needed grows at most linearly in n (it grows much more slowly; n = 5 is
    # lower still because of the finite-size tail)
    assert med[8] <= med[6] * 8 / 6
    # reversible convention: f counts ligation/cleavage pairs; the threshold is ~1-2
    assert 0.5 < np.median(polymer_ensembles[6, True][2]) < 2.0


# ------------------------------------------------------------------ mesh system and (18)


def test_catalysis_probability_and_inverse():
    n = jnp.array([0.0, 1.0, 10.0, 100.0])
    p = raf.catalysis_probability(n, 0.01)
    np.testing.assert_allclose(p, 1 - 0.99 ** np.asarray(n), rtol=1e-12)
    np.testing.assert_allclose(raf.agents_for_probability(p, 0.01), n, atol=1e-9)
    # no agents catalyse nothing, also at beta_t = 1 (was NaN: 0 * log1p(-1))
    z = raf.catalysis_probability(0.0, 1.0)
    assert float(z) == 0.0 and not np.signbit(z)
    assert float(raf.catalysis_probability(2.0, 1.0)) == 1.0


def test_many_catalysed_per_type_do_not_wrap_into_false_pairs():
    # capacity * (n_reactions + 1) past 2^31: the int32 running sum of the gaps wrapped
    # and placed thousands of pairs (three on real reactions) where p = 1e-9 expects
    # none; the running sum now stops at n_reactions + 1
    out = raf.mesh_operations_levels(
        0, 3, 1_000_000, 1e-9, n_food=1, max_catalysed=4400
    )
    assert out.status == RESULTS.successful
    assert not np.isfinite(np.asarray(out.levels)).any()
    # and where pairs are expected, every one sits on a real reaction
    dense = raf.mesh_operations_levels(0, 3, 1000, 0.3, n_food=1, max_catalysed=2000)
    found = np.asarray(dense.system.catalyst_reactions)[
        np.isfinite(np.asarray(dense.levels))
    ]
    n_reactions = dense.system.n_reactions
    assert len(found) > 0 and ((found >= 0) & (found < n_reactions)).all()


def test_mesh_operations_structure_and_threshold(getkey):
    J, R, F, b = 12, 40, 3, 24
    out = raf.mesh_operations_levels(
        jr.split(getkey(), b), J, R, 0.3, n_food=F, max_catalysed=41
    )
    systems, levels = out.system, out.levels
    assert systems.food.shape == (b, J)
    assert (np.asarray(systems.food).sum(axis=1) == F).all()
    assert (np.asarray(systems.products) >= F).all()  # outputs are not food
    pairs = np.asarray(systems.catalyst_reactions < R).sum()
    assert abs(pairs / (b * J * R) - 0.3) < 5 * math.sqrt(0.3 * 0.7 / (b * J * R))
    th = np.asarray(raf.raf_threshold(systems, levels))
    # cross-check one instance against the plain-Python reference at two levels
    one = jax.tree.map(lambda x: x[0], systems)
    for p in (th[0] * 0.999, th[0]):
        d = raf.thin_catalysis(one, levels[0], p).to_dense()
        assert bool(ref_max_raf(*d)) == (p >= th[0])


# ------------------------------------------------------------------ bad input


def test_bad_input():
    rea, cat, pro, food = dense_from_lists(3, [([0], [0], [1])], [0])
    with pytest.raises(ValueError, match="empty"):
        raf.ReactionSystem.from_dense(rea, cat, pro, np.zeros(3, bool))
    with pytest.raises(ValueError, match="shape"):
        raf.ReactionSystem.from_dense(rea, cat[:, :2], pro, food)
    # (under the test run's jaxtyping checks the field annotations catch it first)
    with pytest.raises((ValueError, TypeError), match="inconsistent|shape|products"):
        raf.ReactionSystem(
            reactants=jnp.zeros((2, 1), jnp.int32),
            products=jnp.zeros((3, 1), jnp.int32),
            catalyst_types=jnp.zeros(1, jnp.int32),
            catalyst_reactions=jnp.zeros(1, jnp.int32),
            food=jnp.ones(3, bool),
        )
    with pytest.raises(ValueError, match="catalyst_types"):
        raf.ReactionSystem(
            reactants=jnp.zeros((2, 1), jnp.int32),
            products=jnp.zeros((2, 1), jnp.int32),
            catalyst_types=jnp.array([5], jnp.int32),
            catalyst_reactions=jnp.zeros(1, jnp.int32),
            food=jnp.ones(3, bool),
        )
    system = raf.ReactionSystem.from_dense(rea, cat, pro, food)
    with pytest.raises(ValueError, match="reaction_mask"):
        raf.is_raf(system, jnp.ones(2, bool))
    with pytest.raises(TypeError):
        raf.max_raf(rea)
    with pytest.raises(ValueError, match="p_max"):
        raf.mesh_operations_levels(jr.key(0), 5, 5, 1.5, n_food=1)
    with pytest.raises(ValueError, match="`p`"):
        raf.mesh_operations(jr.key(0), 5, 5, -0.1, n_food=1)
    with pytest.raises(ValueError, match="n_food"):
        raf.mesh_operations(jr.key(0), 5, 5, 0.1, n_food=0)
    with pytest.raises(ValueError, match="n_types"):
        raf.mesh_operations(jr.key(0), 1, 5, 0.1, n_food=1)
    with pytest.raises(ValueError, match="beta_t"):
        raf.catalysis_probability(10, 1.2)
    with pytest.raises(ValueError, match="`f`"):
        raf.binary_polymer(jr.key(0), 5, -1.0)
    with pytest.raises(ValueError, match="f_max"):
        raf.binary_polymer_levels(jr.key(0), 5, -1.0)
    with pytest.raises(ValueError, match="`n`"):
        raf.binary_polymer(jr.key(0), 1, 1.0)
    with pytest.raises(ValueError, match="food_length"):
        raf.binary_polymer(jr.key(0), 4, 1.0, food_length=4)


# ------------------------------------------------------------------ experiment


def test_autocatalysis_experiment_tiny(tmp_path, polymer_ensembles):
    from meshjax.experiments import Context, get

    exp = get("autocatalysis")
    params = dict(exp.defaults)
    # sizes shared with the tests above (and test_replicator), so nothing new compiles
    params.update(
        polymer_n=[6],
        polymer_instances=N_INST,
        mesh_types=12,
        mesh_food=3,
        mesh_ops=[40],
        mesh_types_sweep=[],
        mesh_instances=24,
        jk_types=12,
        jk_m=1.1,
        jk_steps=20,
        jk_runs=2,
    )
    exp.validate(params)
    res = exp.run(params, Context(seed=0, out_dir=tmp_path, log=lambda s: None))
    assert {"metrics", "polymer", "polymer_curve", "mesh", "jk", "jk_summary"} <= set(
        res.tables
    )
    (row,) = res.tables["polymer"]
    assert row["n"] == 6 and 0.3 < row["f_half"] < 5
    (mesh,) = res.tables["mesh"]
    assert mesh["R"] == 40 and mesh["p_half"] > 0
    assert len(res.tables["jk"]) == 2 * 20
    claims = [f.claim for f in res.findings]
    assert any("binary polymer" in c for c in claims)
    assert any("Perron" in c for c in claims)
    bad = dict(params, beta_t=1.5)
    with pytest.raises(ValueError, match="beta_t"):
        exp.validate(bad)


def test_polymer_f_above_reaction_count_is_refused():
    # issue 12: f > |R| gave p > 1, NaN and no catalysis at all
    n_reactions = raf.binary_polymer_size(5).n_reactions  # 392
    with pytest.raises(ValueError, match="`f`"):
        raf.binary_polymer(jr.key(0), 5, 500.0)
    with pytest.raises(ValueError, match="f_max"):
        raf.binary_polymer_levels(jr.key(0), 5, n_reactions + 1.0)
    levels = jax.jit(
        lambda f: raf.binary_polymer_levels(jr.key(0), 3, f, max_catalysed=30)
    )
    assert levels(2.0).status == RESULTS.successful
    bad = levels(500.0)
    assert bad.status == RESULTS.invalid_parameter
    assert np.isnan(np.asarray(bad.levels)).all()
    with pytest.raises(RuntimeError, match="`f`"):
        jax.jit(lambda f: raf.binary_polymer(jr.key(0), 3, f, max_catalysed=30))(
            500.0
        ).food.block_until_ready()


def test_keys_seed_legacy_and_batches():
    a = raf.binary_polymer(3, 3, 2.0)
    b = raf.binary_polymer(jr.key(3), 3, 2.0)
    c = raf.binary_polymer(jr.PRNGKey(3), 3, 2.0)
    for x in (b, c):
        np.testing.assert_array_equal(a.catalyst_reactions, x.catalyst_reactions)
    legacy = jax.random.split(jr.PRNGKey(1), 2)  # (2, 2) uint32: a batch of legacy keys
    typed = jr.wrap_key_data(legacy)
    la = raf.mesh_operations_levels(legacy, 6, 8, 0.3, n_food=2)
    lb = raf.mesh_operations_levels(typed, 6, 8, 0.3, n_food=2)
    np.testing.assert_array_equal(la.levels, lb.levels)
    assert la.levels.shape[0] == 2


def test_traced_formulas_give_nan_out_of_range():
    f = jax.jit(raf.catalysis_probability)
    assert np.isnan(f(10.0, 1.5)) and np.isnan(f(-1.0, 0.1))
    g = jax.jit(raf.agents_for_probability)
    assert np.isnan(g(0.5, 1.0)) and np.isnan(g(1.5, 0.1))
    np.testing.assert_allclose(g(0.5, 0.1), math.log(0.5) / math.log(0.9))


def test_capacity_overflow_raises_when_concrete_and_is_a_status_when_traced():
    # At f_max = 20 of |R| = 40 (n = 3) a type catalyses ~20 reactions: a capacity of 2
    # overflows on every draw.
    with pytest.raises(ValueError, match="capacity overflow"):
        raf.binary_polymer_levels(jr.key(0), 3, 20.0, max_catalysed=2)
    levels = jax.jit(lambda k: raf.binary_polymer_levels(k, 3, 20.0, max_catalysed=2))(
        jr.key(0)
    )
    assert levels.status == RESULTS.capacity_exceeded
    assert np.isnan(np.asarray(levels.levels)).all()
    batch = jax.vmap(
        lambda k: raf.mesh_operations_levels(k, 6, 8, 0.5, n_food=2, max_catalysed=1)
    )(jr.split(jr.key(1), 4))
    assert (batch.status == RESULTS.capacity_exceeded).all()
    fits = jax.jit(lambda k: raf.binary_polymer_levels(k, 3, 2.0, max_catalysed=30))(
        jr.key(0)
    )
    assert fits.status == RESULTS.successful
    assert not np.isnan(np.asarray(fits.levels)).any()
