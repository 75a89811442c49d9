"""The tiny model learns: a broken loss, label map or optimiser step fails the default suite."""

from __future__ import annotations

from pathlib import Path

from model.labels import Label
from training.config import TrainConfig
from training.data import Example, Split
from training.fit.finetune import fine_tune

# One cue word per label, in the tiny vocabulary, on four different claims: a learnable dozen.
CLAIMS = [
    "russia bought shells",
    "korea sold rockets",
    "moscow made the deal",
    "the weapons arrived",
]
DOZEN = {
    Label.ASSERTION: [f"officials said {claim}" for claim in CLAIMS],
    Label.DENIAL: [f"officials denied {claim}" for claim in CLAIMS],
    Label.CAVEAT: [f"officials may say {claim}" for claim in CLAIMS],
}


def test_the_tiny_model_fits_a_dozen_sentences(tiny_config: TrainConfig, tmp_path: Path) -> None:
    examples = [
        Example(text, label, "dozen", f"g{index}", Split.TRAIN)
        for label, texts in DOZEN.items()
        for index, text in enumerate(texts)
    ]
    config = tiny_config.model_copy(
        update={
            "training": tiny_config.training.model_copy(
                # A random tiny BERT's [CLS] takes hundreds of steps to gather one word; the
                # mean of the token states sees it at once, so a few steps suffice.
                update={
                    "epochs": 10,
                    "batch_size": 4,
                    "learning_rate": 3e-3,
                    "warmup_ratio": 0.0,
                    "pooling": "mean",
                }
            )
        }
    )
    trained = fine_tune(examples, examples, config, tmp_path / "model")
    predicted = [prediction.label for prediction in trained.predict([e.text for e in examples])]
    assert predicted == [e.label for e in examples]
