"""Corpus builders: one module per raw source, each yielding labelled ``Example`` rows."""
