"""Grouping quality and speed of the multi-outlet comparison on the five example articles.

    python scripts/benchmark_compare.py [EXAMPLES_DIR] [--model DIR_OR_URI] [--thresholds 0.5 0.6]

Pairwise precision / recall / F1 of the claim groups against the hand-made
grouping in tests/fixtures/example_groups.json, over pairs of claims from
different documents, at each threshold and at the default. Grouping does not
depend on labels, so it needs only the sentence encoder. With ``--model`` (a
classifier directory or an MLflow model URI such as models:/claimstance@champion)
it also builds the real app, as ``python -m service`` does, and times ``POST
/compare`` with the five articles through it (TestClient: no network), scoring
the groups the API returns the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a file (python scripts/...), so the repository root is not on the path by itself.
sys.path.insert(0, str(REPO_ROOT))

from model.claims import extract_claims  # noqa: E402
from model.embeddings import SentenceEmbedder  # noqa: E402
from model.story import (  # noqa: E402
    DEFAULT_SIMILARITY_THRESHOLD,
    ClaimKey,
    PairwiseScores,
    cluster_claims,
    pairwise_scores,
)

DEFAULT_EXAMPLES = REPO_ROOT.parent / "shared" / "examples"
DEFAULT_GOLD = REPO_ROOT / "tests" / "fixtures" / "example_groups.json"
SWEEP = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="?", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument(
        "--model", help="classifier directory or MLflow model URI: time POST /compare with it"
    )
    parser.add_argument("--embedder", type=Path, help="encoder directory (default: packaged)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(SWEEP))
    parser.add_argument("--repeats", type=int, default=3, help="timed /compare requests")
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    documents = [
        (p.stem, p.read_text(encoding="utf-8")) for p in sorted(args.examples.glob("*.txt"))
    ]
    if not documents:
        sys.exit(f"no *.txt articles in {args.examples}")
    gold_groups = json.loads(args.gold.read_text(encoding="utf-8"))
    gold: list[set[ClaimKey]] = [
        {(member["document"], member["text"]) for member in group["members"]}
        for group in gold_groups
    ]

    started = time.perf_counter()
    embedder = SentenceEmbedder.from_directory(args.embedder, device=args.device)
    print(f"encoder loaded in {time.perf_counter() - started:.2f} s on {embedder.device}")

    claims = {doc_id: [c.text for c in extract_claims(raw).claims] for doc_id, raw in documents}
    keys = [(doc_id, text) for doc_id, texts in claims.items() for text in texts]
    positions = [(d, i) for d, texts in enumerate(claims.values()) for i in range(len(texts))]
    key_at = dict(zip(positions, keys, strict=True))
    embeddings = embedder.embed([text for _, text in keys])
    print(f"{len(documents)} documents, {len(keys)} claims, {len(gold)} gold groups\n")

    print("threshold  precision  recall     F1  groups  pairs(pred/gold/correct)")
    thresholds = sorted({*args.thresholds, DEFAULT_SIMILARITY_THRESHOLD})
    for threshold in thresholds:
        clusters = cluster_claims(embeddings, positions, threshold=threshold)
        predicted = [[key_at[member] for member in c.members] for c in clusters]
        s = pairwise_scores(predicted, gold)
        marker = "  <- default" if threshold == DEFAULT_SIMILARITY_THRESHOLD else ""
        print(
            f"{threshold:9.2f}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}"
            f"  {len(clusters):6d}  {s.predicted_pairs}/{s.gold_pairs}/{s.correct_pairs}{marker}"
        )

    if args.model is None:
        print("\n(pass --model DIR_OR_URI to time POST /compare through the app)")
        return
    time_api(args, documents, gold)


def _describe(scores: PairwiseScores) -> str:
    return (
        f"precision {scores.precision:.3f}, recall {scores.recall:.3f}, F1 {scores.f1:.3f} "
        f"(pairs {scores.predicted_pairs}/{scores.gold_pairs}/{scores.correct_pairs})"
    )


def time_api(
    args: argparse.Namespace, documents: list[tuple[str, str]], gold: list[set[ClaimKey]]
) -> None:
    """Time POST /compare on the real app: lifespan loading, validation, threads, JSON."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(
        model_uri=args.model,
        embedder_dir=args.embedder,
        device=args.device,
        # The five articles must fit whatever the environment sets as limits.
        max_documents=max(len(documents), 2),
        max_chars=max(len(text) for _, text in documents),
    )
    body = {"documents": [{"id": doc_id, "text": text} for doc_id, text in documents]}
    started = time.perf_counter()
    with TestClient(create_app(settings)) as client:
        if client.app.state.model is None:
            sys.exit(client.app.state.load_error)
        print(
            f"\napp started (classifier + encoder loaded) in {time.perf_counter() - started:.2f} s"
        )
        client.post("/compare", json=body).raise_for_status()  # warm-up: first-call allocations
        timings = []
        for _ in range(max(1, args.repeats)):
            started = time.perf_counter()
            response = client.post("/compare", json=body)
            timings.append(time.perf_counter() - started)
            response.raise_for_status()
        device = client.get("/model").json()["device"]
    result = response.json()
    predicted = [
        [
            (member["document"], claim["text"])
            for member in group["members"]
            for claim in member["claims"]
        ]
        for group in result["groups"]
    ]
    claims = sum(len(document["claims"]) for document in result["documents"])
    disagreements = sum(group["disagreement"] for group in result["groups"])
    print(
        f"POST /compare, {len(documents)} documents ({claims} claims) on {device}: "
        f"best {min(timings) * 1000:.0f} ms, median {sorted(timings)[len(timings) // 2] * 1000:.0f} ms "
        f"over {len(timings)} requests; {len(result['groups'])} groups, "
        f"{disagreements} with disagreement"
    )
    print(
        f"API groups at threshold {result['threshold']}: {_describe(pairwise_scores(predicted, gold))}"
    )


if __name__ == "__main__":
    main()
