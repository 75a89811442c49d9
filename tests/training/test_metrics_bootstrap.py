"""Story-level bootstrap intervals of macro-F1."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from model.labels import LABELS
from training.metrics import _macro_f1_from_confusions, evaluate, story_bootstrap_interval


def test_confusion_macro_f1_matches_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    truth, predicted = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    confusion = np.zeros((3, 3))
    np.add.at(confusion, (truth, predicted), 1)
    expected = f1_score(truth, predicted, average="macro")
    assert abs(_macro_f1_from_confusions(confusion) - expected) < 1e-12


def test_interval_holds_the_score_and_widens_when_stories_disagree() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 600)
    # Half the stories are read perfectly, half at chance: story-level noise.
    groups = [f"story-{i // 30}" for i in range(600)]
    predicted = np.where((np.arange(600) // 30) % 2 == 0, truth, rng.integers(0, 3, 600))
    low, high = story_bootstrap_interval(truth, predicted, groups)
    score = f1_score(truth, predicted, average="macro")
    assert low < score < high
    # The same sentences, each its own story, give a narrower interval.
    narrow = story_bootstrap_interval(truth, predicted, [str(i) for i in range(600)])
    assert (narrow[1] - narrow[0]) < (high - low)


def test_evaluate_reports_the_interval_only_with_groups() -> None:
    truth = [LABELS[i % 3] for i in range(30)]
    with_groups = evaluate("set", truth, truth, groups=[str(i // 3) for i in range(30)])
    assert with_groups.macro_f1_interval == (1.0, 1.0)
    assert "set.macro_f1_low" in with_groups.flat("set")
    assert evaluate("set", truth, truth).macro_f1_interval is None
