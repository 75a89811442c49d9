"""The scikit-learn baseline: TF-IDF word n-grams and logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from model.labels import LABELS, Label
from training.config import BaselineConfig
from training.data import Example
from training.metrics import label_indices


class Baseline:
    def __init__(self, config: BaselineConfig, *, seed: int) -> None:
        self.pipeline = Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        ngram_range=(1, config.ngram_max),
                        max_features=config.max_features,
                        sublinear_tf=True,
                        min_df=1,
                    ),
                ),
                (
                    "classifier",
                    LogisticRegression(
                        C=config.c, max_iter=2000, class_weight="balanced", random_state=seed
                    ),
                ),
            ]
        )

    def fit(self, examples: Sequence[Example], weights: np.ndarray | None = None) -> Baseline:
        self.pipeline.fit(
            [e.text for e in examples],
            label_indices([e.label for e in examples]),
            classifier__sample_weight=weights,
        )
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities in ``LABELS`` order, with a zero column for a label never seen in training."""
        raw = self.pipeline.predict_proba(list(texts))
        probabilities = np.zeros((len(texts), len(LABELS)))
        probabilities[:, self.pipeline.classes_] = raw
        return probabilities

    def predict(self, texts: Sequence[str]) -> list[Label]:
        return [LABELS[i] for i in self.predict_proba(texts).argmax(axis=1)]
