"""claimstance training: corpus, fine-tuning, baseline, evaluation and MLflow tracking."""
