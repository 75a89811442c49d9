"""The classification network: a pretrained encoder with a three-label head on one of two poolings.

``cls`` is Hugging Face's stock sequence classifier (a dense layer over the
first token). ``mean`` averages the token states under the attention mask,
the pooling sentence-transformers encoders such as all-MiniLM-L6-v2 were
trained with, and puts a linear layer on that average. The pooling is
recorded in the model card, so a directory always reloads the way it was
trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from model.weights import check_weights, refuse_pickle

Pooling = Literal["cls", "mean"]
POOLINGS: tuple[Pooling, ...] = ("cls", "mean")
# Beside config.json, so the encoder weights stay a plain Hugging Face checkpoint.
MEAN_HEAD_FILE = "mean_pooling_head.safetensors"
# Written by torch.save before the head moved to safetensors: a pickle, read only when allowed.
PICKLED_MEAN_HEAD_FILE = "mean_pooling_head.pt"


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states that are not padding, shape (batch, hidden)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    # A BERT tokenizer always adds [CLS] and [SEP], so the sum is never zero;
    # the clamp guards tokenizers that add no special tokens.
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class MeanPooledClassifier(torch.nn.Module):
    """Encoder, masked mean of its last hidden states, dropout, linear head."""

    def __init__(self, encoder: PreTrainedModel, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(getattr(encoder.config, "hidden_dropout_prob", 0.1))
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    @property
    def config(self) -> PretrainedConfig:
        # ClaimClassifier reads id2label here, as on a Hugging Face model.
        return self.encoder.config

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        **encoder_inputs: torch.Tensor,
    ) -> SequenceClassifierOutput:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, **encoder_inputs
        ).last_hidden_state
        pooled = masked_mean(hidden, attention_mask)
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))

    def save_pretrained(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        path = Path(directory)
        self.encoder.save_pretrained(path)
        state = {name: tensor.contiguous() for name, tensor in self.classifier.state_dict().items()}
        save_file(state, path / MEAN_HEAD_FILE)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, *, allow_pickle: bool = False, **load_options: Any
    ) -> MeanPooledClassifier:
        from safetensors.torch import load_file

        path = Path(directory)
        if (path / MEAN_HEAD_FILE).is_file():
            head = load_file(path / MEAN_HEAD_FILE)
        elif (path / PICKLED_MEAN_HEAD_FILE).is_file():
            refuse_pickle(path, PICKLED_MEAN_HEAD_FILE, allow_pickle=allow_pickle)
            head = torch.load(path / PICKLED_MEAN_HEAD_FILE, weights_only=True)
        else:
            raise FileNotFoundError(f"{path} has no {MEAN_HEAD_FILE} for its mean-pooling head")
        encoder = _pretrained(AutoModel, path, allow_pickle, load_options)
        network = cls(encoder, num_labels=len(encoder.config.id2label))
        network.classifier.load_state_dict(head)
        return network


def build_network(
    base: str, pooling: Pooling, id2label: dict[int, str], label2id: dict[str, int]
) -> torch.nn.Module:
    """A fresh classifier on a pretrained encoder, its head randomly initialised."""
    if pooling == "mean":
        encoder = AutoModel.from_pretrained(base, id2label=id2label, label2id=label2id)
        return MeanPooledClassifier(encoder, num_labels=len(id2label))
    return AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(id2label),
        id2label=id2label,
        label2id=label2id,
        ignore_mismatched_sizes=True,
    )


def _pretrained(
    auto: Any, directory: str | Path, allow_pickle: bool, load_options: dict[str, Any]
) -> PreTrainedModel:
    """``auto.from_pretrained`` on safetensors only, unless pickles are allowed."""
    check_weights(Path(directory), allow_pickle=allow_pickle)
    options = load_options if allow_pickle else {**load_options, "use_safetensors": True}
    return auto.from_pretrained(directory, **options)


def load_network(
    directory: str | Path, pooling: str, *, allow_pickle: bool = False, **load_options: Any
) -> torch.nn.Module:
    """A trained classifier saved by ``save_pretrained``, rebuilt with the pooling it was trained with.

    Weights load from safetensors; pickled ones only with ``allow_pickle`` (model.weights).
    ``load_options`` go to ``from_pretrained`` (the ONNX export asks for eager attention).
    """
    if pooling == "mean":
        return MeanPooledClassifier.from_pretrained(
            directory, allow_pickle=allow_pickle, **load_options
        )
    if pooling == "cls":
        return _pretrained(
            AutoModelForSequenceClassification, directory, allow_pickle, load_options
        )
    raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")


class LogitsModule(torch.nn.Module):
    """(input_ids, attention_mask) -> logits: the classifier as the backends and the export see it."""

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network

    @property
    def config(self) -> PretrainedConfig:
        return self.network.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.network(input_ids=input_ids, attention_mask=attention_mask).logits


class SentenceEmbeddingModule(torch.nn.Module):
    """(input_ids, attention_mask) -> unit-length mean of the token states, as sentence-transformers pools."""

    def __init__(self, encoder: PreTrainedModel) -> None:
        super().__init__()
        self.encoder = encoder

    @property
    def config(self) -> PretrainedConfig:
        return self.encoder.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return torch.nn.functional.normalize(
            masked_mean(hidden.float(), attention_mask), p=2, dim=1
        )

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, *, allow_pickle: bool = False, **load_options: Any
    ) -> SentenceEmbeddingModule:
        return cls(_pretrained(AutoModel, directory, allow_pickle, load_options))


def load_logits_module(
    directory: str | Path, pooling: str, *, allow_pickle: bool = False, **load_options: Any
) -> LogitsModule:
    return LogitsModule(load_network(directory, pooling, allow_pickle=allow_pickle, **load_options))
