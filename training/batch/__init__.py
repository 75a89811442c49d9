"""Batch scoring: a file of texts to a file of labelled claims, locally or on Spark."""
