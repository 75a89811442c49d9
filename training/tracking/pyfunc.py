"""The MLflow model of claimstance: texts in, one row per labelled claim out, as /classify labels them.

MLflow stores this file with the model and runs it by path when the model loads
("models from code": no pickle). The ``model`` package travels beside it as the
model's code (``code_paths``), and MLflow puts it on ``sys.path`` first, so the
model loads where claimstance is not installed. This file therefore imports only
mlflow, pandas and ``model``; ``training.tracking.runs`` logs it.

Input: a DataFrame (or JSON records) with a ``text`` column and an optional ``id``
column (the row's position when absent). Output: ``model.table.CLAIM_COLUMNS``, a row
per claim. With the parameter ``per_text=True`` it returns one row per input text
instead, its claims as a list in a ``claims`` column: a Spark UDF must return one
row for each row it is given (``training/batch/spark.py`` explodes the list).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

# The model directory, logged as this artifact (MLflow keeps it under artifacts/<folder name>/).
CLASSIFIER_ARTIFACT = "classifier"
PER_TEXT_PARAM = "per_text"
CLAIMS_COLUMN = "claims"


class ClaimstanceModel(PythonModel):
    """``model.labelling.label_texts`` over a ``ClaimClassifier`` loaded from the artifact."""

    def load_context(self, context: Any) -> None:
        # Imported here: at load time ``model`` comes from the code logged with the model.
        from model.classifier import ClaimClassifier

        self.classifier = ClaimClassifier.from_directory(context.artifacts[CLASSIFIER_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from model.labelling import label_texts
        from model.table import ID_COLUMN, TEXT_COLUMN, as_text, claim_record, claim_table

        frame = _as_frame(model_input)
        texts = [as_text(value) for value in frame[TEXT_COLUMN]]
        ids = (
            [as_text(value) for value in frame[ID_COLUMN]]
            if ID_COLUMN in frame
            else [str(position) for position in range(len(frame))]
        )
        labelled = label_texts(self.classifier, texts)
        if (params or {}).get(PER_TEXT_PARAM):
            return pd.DataFrame(
                {CLAIMS_COLUMN: [[claim_record(c) for c in item.claims] for item in labelled]}
            )
        return pd.DataFrame(claim_table(ids, labelled))


def _as_frame(model_input: Any) -> pd.DataFrame:
    """A DataFrame with a ``text`` column from what pyfunc callers pass."""
    from model.table import TEXT_COLUMN

    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN in model_input:
            return model_input
        if len(model_input.columns) == 1:  # an unnamed column of texts
            return model_input.set_axis([TEXT_COLUMN], axis=1)
        raise ValueError(f"the input needs a {TEXT_COLUMN!r} column")
    if isinstance(model_input, pd.Series):
        return model_input.to_frame(TEXT_COLUMN)
    return pd.DataFrame({TEXT_COLUMN: list(model_input)})


# MLflow runs this file by path, under a module name of its own, when it logs or loads the
# model: that run names the model. Imported as part of the package (tracking, tests), the
# file only defines it, and no global is set.
if __name__ != "training.tracking.pyfunc":
    set_model(ClaimstanceModel())
