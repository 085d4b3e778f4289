"""Unit and property tests for scalinglib.simulator: determinism, the FLOP ledger, the guards, scoring."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglib import simulator as simmod
from scalinglib.allocation import optimal_params_tokens_numeric
from scalinglib.simulator import BudgetExceededError, Simulator, default_lr, draw_truth, optimum_at_edge, score

SETTINGS = settings(max_examples=40, deadline=None)
sizes = st.floats(min_value=1e5, max_value=1e10)
token_counts = st.floats(min_value=1e5, max_value=1e11)
seeds = st.integers(min_value=0, max_value=10_000)


# --------------------------------------------------------------------------- determinism


@SETTINGS
@given(seed=seeds, n=sizes, d=token_counts)
def test_same_seed_same_truth_and_same_losses(seed, n, d):
    a, b = Simulator(1e30, seed=seed), Simulator(1e30, seed=seed)
    assert a.reveal_truth() == b.reveal_truth()
    assert a.train(n, d).loss == b.train(n, d).loss


def test_losses_do_not_depend_on_call_order():
    a, b = Simulator(1e20, seed=3), Simulator(1e20, seed=3)
    configs = [(1e6, 1e8), (3e6, 5e7), (1e7, 2e7)]
    la = [a.train(n, d).loss for n, d in configs]
    lb = [b.train(n, d).loss for n, d in reversed(configs)][::-1]
    assert la == lb


def test_repeating_a_run_draws_new_noise_deterministically():
    a, b = Simulator(1e20, seed=1), Simulator(1e20, seed=1)
    first, second = a.train(1e6, 1e8), a.train(1e6, 1e8)
    assert (first.repeat, second.repeat) == (0, 1)
    assert first.loss != second.loss
    assert [b.train(1e6, 1e8).loss, b.train(1e6, 1e8).loss] == [first.loss, second.loss]


def test_different_seeds_different_truths():
    assert draw_truth(0) != draw_truth(1)


def test_noise_has_the_stated_size():
    sim = Simulator(1e30, seed=5)
    t = sim.reveal_truth()
    n, d = 1e7, 2e8
    losses = np.array([sim.train(n, d, lr=float(t.optimal_lr(n))).loss for _ in range(400)])
    z = losses - float(t.mean_loss(n, d))  # additive noise, in nats
    sigma = float(t.noise_sigma(n))
    assert sigma == pytest.approx(0.01 * 10**0.15)
    assert abs(z.mean()) < 4 * sigma / math.sqrt(len(z))
    assert abs(z.std() / sigma - 1.0) < 0.15


@SETTINGS
@given(seed=seeds)
def test_truth_is_in_its_ranges_and_plausible(seed):
    t = draw_truth(seed)
    r = simmod.TRUTH_RANGES
    assert r["E"][0] <= t.law.E <= r["E"][1]
    assert r["alpha"][0] <= t.law.alpha <= r["alpha"][1]
    assert r["beta"][0] <= t.law.beta <= r["beta"][1]
    opt = t.compute_optimal(1e20)
    assert 8.0 <= opt["tokens"] / opt["params"] <= 120.0
    assert math.isclose(6 * opt["params"] * opt["tokens"], 1e20, rel_tol=1e-9)


@SETTINGS
@given(seed=seeds, flops=st.floats(min_value=1e15, max_value=1e24))
def test_truth_optimum_matches_numeric_minimum(seed, flops):
    t = draw_truth(seed)
    opt = t.compute_optimal(flops)
    n_num, _ = optimal_params_tokens_numeric(flops, t.law)
    assert math.isclose(opt["params"], n_num, rel_tol=1e-5)
    assert opt["loss"] <= float(t.mean_loss(opt["params"] * 1.1, flops / (6 * opt["params"] * 1.1)))


# --------------------------------------------------------------------------- learning rate


@SETTINGS
@given(seed=seeds, n=sizes, factor=st.floats(min_value=0.2, max_value=5.0))
def test_learning_rate_valley_has_its_minimum_at_the_optimal_lr(seed, n, factor):
    t = draw_truth(seed)
    best = float(t.optimal_lr(n))
    assert float(t.mean_loss(n, 1e9, best)) <= float(t.mean_loss(n, 1e9, best * factor)) + 1e-12
    assert math.isclose(float(t.mean_loss(n, 1e9, best)), float(t.mean_loss(n, 1e9)), rel_tol=1e-12)


def test_too_high_learning_rate_diverges_and_is_charged():
    sim = Simulator(1e20, seed=0)
    n, d = 1e7, 1e8
    lr = 2 * simmod.DIVERGENCE_FACTOR * float(sim.reveal_truth().optimal_lr(n))
    run = sim.train(n, d, lr=lr)
    assert run.diverged and run.loss == pytest.approx(math.log(32_000))
    assert sim.spent_flops == pytest.approx(6 * n * d)


def test_default_lr_is_used_without_lr():
    sim = Simulator(1e20, seed=0)
    assert sim.train(1e7, 1e8).lr == pytest.approx(float(default_lr(1e7)))


# --------------------------------------------------------------------------- ledger


@SETTINGS
@given(runs=st.lists(st.tuples(sizes, token_counts), min_size=1, max_size=8))
def test_ledger_charges_6nd_and_never_overspends(runs):
    budget = 1e18
    sim = Simulator(budget, seed=0)
    charged, n_runs = 0.0, 0
    for n, d in runs:
        cost = 6 * n * d
        if cost <= sim.remaining_flops:
            r = sim.train(n, d)
            assert r.flops == pytest.approx(cost)
            charged += cost
            n_runs += 1
        else:
            before = sim.spent_flops
            with pytest.raises(BudgetExceededError, match="nothing was charged"):
                sim.train(n, d)
            assert sim.spent_flops == before
        assert sim.spent_flops == pytest.approx(charged)
        assert sim.spent_flops <= budget * (1 + 1e-12)
        assert sim.remaining_flops == pytest.approx(budget - charged)
    assert len(sim.runs()) == n_runs
    assert sim.runs()["flops"].sum() == pytest.approx(charged)


def test_budget_can_be_spent_exactly():
    sim = Simulator(6e14, seed=0)
    sim.train(1e6, 1e8)
    assert sim.remaining_flops == pytest.approx(0.0, abs=1.0)
    with pytest.raises(BudgetExceededError, match=r"costs 6ND"):
        sim.train(1e5, 1e5)


def test_budget_error_is_a_value_error_naming_the_amounts():
    sim = Simulator(1e15, seed=0)
    with pytest.raises(ValueError, match=r"6\.06?e\+15 FLOPs.*1e\+15"):
        sim.train(1e7, 1.01e8)
    assert sim.runs().empty


# --------------------------------------------------------------------------- guards


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"params": 10.0, "tokens": 1e8}, "params"),
        ({"params": float("nan"), "tokens": 1e8}, "params"),
        ({"params": 1e13, "tokens": 1e8}, "params"),
        ({"params": 1e7, "tokens": -1.0}, "tokens"),
        ({"params": 1e7, "tokens": float("inf")}, "tokens"),
        ({"params": 1e7, "tokens": 1e8, "lr": 0.0}, "lr"),
        ({"params": 1e7, "tokens": 1e8, "lr": "fast"}, "lr"),
    ],
)
def test_train_rejects_bad_inputs_naming_the_argument(kwargs, name):
    sim = Simulator(1e30, seed=0)
    with pytest.raises(ValueError, match=name):
        sim.train(**kwargs)
    assert sim.spent_flops == 0.0


@pytest.mark.parametrize("budget", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_budget_rejected(budget):
    with pytest.raises(ValueError, match="budget_flops"):
        Simulator(budget)


@pytest.mark.parametrize("seed", [-1, 1.5, "a"])
def test_bad_seed_rejected(seed):
    with pytest.raises(ValueError, match="seed"):
        Simulator(1e18, seed=seed)


def test_default_lr_rejects_nonpositive():
    with pytest.raises(ValueError, match="params"):
        default_lr([1e6, 0.0])


# --------------------------------------------------------------------------- scoring and grid edges


@SETTINGS
@given(seed=seeds, f_n=st.floats(0.1, 10.0), f_l=st.floats(0.5, 2.0))
def test_score_of_truth_is_perfect_and_ratios_are_exact(seed, f_n, f_l):
    t = draw_truth(seed)
    true = t.compute_optimal(1e20)
    s = score(true, t, 1e20)
    assert s["params_ratio"] == pytest.approx(1.0) and s["loss_rel_error"] == pytest.approx(0.0, abs=1e-12)
    pred = {"params": true["params"] * f_n, "tokens": true["tokens"] / f_n, "loss": true["loss"] * f_l}
    s = score(pred, t, 1e20)
    assert s["params_ratio"] == pytest.approx(f_n) and s["tokens_ratio"] == pytest.approx(1 / f_n)
    assert s["params_log10_error"] == pytest.approx(abs(math.log10(f_n)), abs=1e-9)
    assert s["loss_rel_error"] == pytest.approx(f_l - 1.0)


def test_score_guards():
    t = draw_truth(0)
    with pytest.raises(ValueError, match="lacks"):
        score({"params": 1e9}, t, 1e20)
    with pytest.raises(ValueError, match="loss"):
        score({"params": 1e9, "tokens": 1e10, "loss": -1.0}, t, 1e20)
    with pytest.raises(ValueError, match="flops"):
        score({"params": 1e9, "tokens": 1e10, "loss": 2.0}, t, 0.0)


def test_optimum_at_edge():
    grid = [1e6, 2e6, 4e6, 8e6, 16e6]
    assert optimum_at_edge(grid, 5e6) is None
    assert "small edge" in optimum_at_edge(grid, 1.5e6)
    assert "small edge" in optimum_at_edge(grid, 1e5)
    assert "large edge" in optimum_at_edge(grid, 1e7)
    assert "large edge" in optimum_at_edge(grid, 1e9)


@pytest.mark.parametrize(
    "tried, opt, name",
    [([1e6, 2e6], 1.5e6, "params_tried"), ([1e6, 1e6, 1e6, 2e6], 1.5e6, "params_tried"),
     ([1e6, 2e6, -1.0], 1.5e6, "params_tried"), ([1e6, 2e6, 4e6], float("nan"), "params_opt")],
)
def test_optimum_at_edge_guards(tried, opt, name):
    with pytest.raises(ValueError, match=name):
        optimum_at_edge(tried, opt)


# --------------------------------------------------------------------------- the instructor's procedure


def test_learning_rate_rule_recovers_the_hidden_optimum_without_noise():
    sim = Simulator(1e30, seed=4, noise_nats=0.0)
    t = sim.reveal_truth()
    sizes = np.array([3e6, 1e7, 3e7])
    sweep = simmod.sweep_learning_rate(sim, sizes, 5e7, factors=[0.25, 0.5, 1.0, 2.0, 4.0])
    assert len(sweep) == 15 and sim.spent_flops == pytest.approx(6 * sizes.sum() * 5e7 * 5)
    rule = simmod.fit_learning_rate_rule(sweep)
    # without noise the loss is exactly quadratic in ln lr: the vertex is the hidden optimum
    np.testing.assert_allclose(rule.lr_best, t.optimal_lr(sizes), rtol=1e-6)
    assert rule.exponent == pytest.approx(-t.lr_exponent, rel=1e-6)
    np.testing.assert_allclose(rule(sizes), t.optimal_lr(sizes), rtol=1e-6)


def test_isoflop_grid_costs_its_budgets_and_brackets_the_optimum():
    sim = Simulator(1e18, seed=2, noise_nats=0.0)
    budgets = [1e15, 1e16]
    grid = simmod.run_isoflop_grid(sim, budgets, None, n_sizes=5)
    assert sim.spent_flops == pytest.approx(5 * sum(budgets))
    np.testing.assert_allclose(6 * grid["params"] * grid["tokens"], grid["budget_flops"])
    assert list(grid.groupby("budget_index").size()) == [5, 5]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda s: simmod.sweep_learning_rate(s, [1e6], 1e7), "params"),
        (lambda s: simmod.sweep_learning_rate(s, [1e6, 1e7], 1e7, factors=[1.0, 2.0]), "factors"),
        (lambda s: simmod.run_isoflop_grid(s, [1e15], None), "budgets_flops"),
        (lambda s: simmod.run_isoflop_grid(s, [1e15, 1e16], None, n_sizes=2), "n_sizes"),
        (lambda s: simmod.run_isoflop_grid(s, [1e15, 1e16], None, half_width=0.0), "half_width"),
        (lambda s: simmod.fit_learning_rate_rule(s.runs()), "sweep"),
    ],
)
def test_procedure_guards(call, name):
    with pytest.raises(ValueError, match=name):
        call(Simulator(1e30, seed=0))


def test_reference_solution_is_deterministic_and_within_budget():
    a = simmod.reference_solution(7)
    b = simmod.reference_solution(7)
    assert a["prediction"] == b["prediction"] and a["score"] == b["score"]
    assert a["spent_flops"] <= 1e18
    assert a["report"].budget[0]["flops"] == 1e20


def test_reference_solution_refuses_a_plan_over_budget():
    with pytest.raises(BudgetExceededError):
        simmod.reference_solution(0, budget_flops=1e17)


def test_last_bit_differences_do_not_change_the_noise():
    a, b = Simulator(1e20, seed=2), Simulator(1e20, seed=2)
    n, d, lr = 3e6, 5e7, 1.234567e-3
    assert a.train(n, d, lr=lr).loss == pytest.approx(
        b.train(np.nextafter(n, 2 * n), np.nextafter(d, 0.0), lr=np.nextafter(lr, 1.0)).loss, rel=1e-12)
