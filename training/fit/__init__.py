"""Fitting: the training job (``pipeline``), the transformer and its distillation, the baseline."""
