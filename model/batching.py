"""Length-sorted batching shared by every forward pass over texts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def length_sorted_batches(
    texts: Sequence[str], batch_size: int
) -> Iterator[tuple[np.ndarray, list[str]]]:
    """Yield (input positions, texts) batches of similar length.

    Sorting by length first means each batch pads only to its own longest
    member; callers scatter results back with the positions.
    """
    order = np.argsort([len(text) for text in texts], kind="stable")
    for start in range(0, len(texts), batch_size):
        indices = order[start : start + batch_size]
        yield indices, [texts[i] for i in indices]
