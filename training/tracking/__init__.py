"""MLflow: runs and what they log, the registry and its champion rule, the pyfunc model."""
