"""Permutation importance: informative vs noise features, weights, groups, determinism and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from hepnb.errors import InputError
from hepnb.metrics.importance import as_score_function, permutation_importance
from hepnb.metrics.thresholds import best_significance_metric
from hepnb.metrics.weighted import weighted_auc


def two_feature_sample(n: int = 2000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """x0 separates the classes (shift 1.5), x1 is pure noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(1.5 * y, 1.0), rng.normal(0.0, 1.0, n)])
    return X, y


def test_informative_feature_is_important_and_noise_is_zero_within_errors() -> None:
    X, y = two_feature_sample()
    model = LogisticRegression().fit(X, y)
    result = permutation_importance(model, X, y, n_repeats=5, seed=0, feature_names=["m_jj", "noise"])
    assert result.baseline == pytest.approx(weighted_auc(y, model.predict_proba(X)[:, 1]))
    informative, informative_err = result["m_jj"]
    noise, noise_err = result["noise"]
    assert informative > 0.2 and informative > 20 * informative_err  # AUC falls from ~0.85 to ~0.5
    assert abs(noise) < 3 * noise_err + 1e-3 and abs(noise) < 0.01
    assert result.ranking() == ["m_jj", "noise"]
    table = result.table()
    assert list(table.columns[:4]) == ["feature", "importance", "error", "std"]
    assert table["drop_4"].tolist() == result.drops[[0, 1], 4].tolist()


def test_error_is_std_over_sqrt_repeats_and_the_seed_fixes_the_result() -> None:
    X, y = two_feature_sample(500)
    model = LogisticRegression().fit(X, y)
    a = permutation_importance(model, X, y, n_repeats=4, seed=11)
    b = permutation_importance(model, X, y, n_repeats=4, seed=11)
    c = permutation_importance(model, X, y, n_repeats=4, seed=12)
    assert np.array_equal(a.drops, b.drops) and not np.array_equal(a.drops, c.drops)
    assert np.allclose(a.importance, a.drops.mean(axis=1))
    assert np.allclose(a.error, a.drops.std(axis=1, ddof=1) / 2.0)
    pi_package = permutation_importance(model, X, y, n_repeats=4, seed=11, ddof=0)
    assert np.allclose(pi_package.error, a.drops.std(axis=1) / 2.0)
    assert np.array_equal(X, two_feature_sample(500)[0])  # the input is not modified


def test_a_feature_the_model_ignores_has_exactly_zero_importance() -> None:
    X, y = two_feature_sample(400)
    X = np.column_stack([X, np.random.default_rng(5).normal(size=len(X))])
    result = permutation_importance(lambda data: data[:, 0] + 0.1 * data[:, 1], X, y, n_repeats=3, seed=0)
    assert result.importance[2] == 0.0 and result.error[2] == 0.0  # as the "0 +- 0" rows of Table 6.1


def test_weights_decide_where_a_feature_matters() -> None:
    # x2 carries information only in population A; the model uses x0 + x2 everywhere
    rng = np.random.default_rng(2)
    n = 3000
    y = rng.integers(0, 2, n)
    in_a = rng.random(n) < 0.5
    x0 = rng.normal(0.7 * y, 1.0)
    x2 = rng.normal(np.where(in_a, 1.5 * y, 0.0), 1.0)
    X = np.column_stack([x0, x2])

    def model(data: np.ndarray) -> np.ndarray:
        return data[:, 0] + data[:, 1]

    only_a = permutation_importance(model, X, y, np.where(in_a, 1.0, 0.0), n_repeats=5, seed=3)
    only_b = permutation_importance(model, X, y, np.where(in_a, 0.0, 1.0), n_repeats=5, seed=3)
    imp_a, err_a = only_a["x1"]
    imp_b, err_b = only_b["x1"]
    assert imp_a > 0.1 and imp_a > 10 * err_a
    assert abs(imp_b) < 3 * err_b + 5e-3 and abs(imp_b) < 0.02
    unweighted = permutation_importance(model, X, y, n_repeats=5, seed=3)["x1"][0]
    assert imp_b < unweighted < imp_a


def test_groups_are_shuffled_together_and_dataframes_keep_their_names() -> None:
    X, y = two_feature_sample(1000)
    frame = pd.DataFrame({"phi_j1": X[:, 0], "phi_j2": X[:, 0].copy(), "noise": X[:, 1]})

    def model(data: pd.DataFrame) -> np.ndarray:
        assert isinstance(data, pd.DataFrame)  # the model sees the type it was given
        return data["phi_j1"].to_numpy() + data["phi_j2"].to_numpy()

    single = permutation_importance(model, frame, y, n_repeats=3, seed=0)
    grouped = permutation_importance(
        model, frame, y, n_repeats=3, seed=0, groups={"both jets": ["phi_j1", "phi_j2"], "noise": [2]}
    )
    assert single.features == ("phi_j1", "phi_j2", "noise") and grouped.features == ("both jets", "noise")
    # a copied feature shares the importance: shuffling one alone leaves half the information
    assert grouped["both jets"][0] > single["phi_j1"][0] + 5 * single["phi_j1"][1]
    assert grouped["noise"][0] == 0.0
    assert frame["phi_j1"].equals(pd.Series(X[:, 0], name="phi_j1"))  # restored


def test_any_metric_callable_works_including_the_best_threshold_significance() -> None:
    X, y = two_feature_sample(2000)
    model = LogisticRegression().fit(X, y)
    w = np.where(y == 1, 0.01, 1.0)  # a small signal on a large background
    metric = best_significance_metric("asimov_z", min_events=10)
    result = permutation_importance(model, X, y, w, metric=metric, n_repeats=3, seed=0)
    assert result.metric == "best_asimov_z"
    assert result.importance[0] > 10 * result.error[0] and result.importance[0] > 0
    assert abs(result.importance[1]) < 3 * result.error[1] + 0.02


def test_score_functions_and_clear_errors() -> None:
    X, y = two_feature_sample(200)
    model = LogisticRegression().fit(X, y)
    assert np.allclose(as_score_function(model)(X), model.predict_proba(X)[:, 1])
    assert np.allclose(as_score_function(lambda d: np.column_stack([1 - d[:, 0], d[:, 0]]))(X), X[:, 0])
    with pytest.raises(InputError, match="cannot score events"):
        as_score_function(42)
    with pytest.raises(InputError, match="n_repeats"):
        permutation_importance(model, X, y, n_repeats=0)
    with pytest.raises(InputError, match="same length"):
        permutation_importance(model, X, y[:-1])
    with pytest.raises(InputError, match="unknown feature"):
        permutation_importance(model, X, y, groups={"jets": ["m_jj"]})
    with pytest.raises(InputError, match="NaN"):
        permutation_importance(model, np.where(X > 2, np.nan, X), y)
    with pytest.raises(InputError, match="must return a float"):
        permutation_importance(model, X, y, metric=lambda a, b, c: "high")
