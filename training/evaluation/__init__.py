"""Evaluation beyond the split scores: a user's labelled file, attribution spans, figures."""
