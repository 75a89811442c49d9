"""The classification network: a pretrained encoder with a three-label head on one of two poolings.

``cls`` is Hugging Face's stock sequence classifier (a dense layer over the
first token). ``mean`` averages the token states under the attention mask,
the pooling sentence-transformers encoders such as all-MiniLM-L6-v2 were
trained with, and puts a linear layer on that average. The pooling is
recorded in the model card, so a directory always reloads the way it was
trained.

Either may carry an attribution head (``JointNetwork``): a linear layer over every
token's last hidden state giving BIO tags for the claim's source and cue
(``model.attribution_head``), trained with the stance head and run in the same forward
pass. Its weights sit beside the encoder's in their own safetensors file, so the
directory stays a plain Hugging Face checkpoint for the stance head alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import ModelOutput, SequenceClassifierOutput

from model.weights import check_weights, refuse_pickle

Pooling = Literal["cls", "mean"]
POOLINGS: tuple[Pooling, ...] = ("cls", "mean")
# Beside config.json, so the encoder weights stay a plain Hugging Face checkpoint.
MEAN_HEAD_FILE = "mean_pooling_head.safetensors"
# Written by torch.save before the head moved to safetensors: a pickle, read only when allowed.
PICKLED_MEAN_HEAD_FILE = "mean_pooling_head.pt"
# The attribution head's weights, beside the classifier's (JointNetwork).
ATTRIBUTION_HEAD_FILE = "attribution_head.safetensors"


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
        output_hidden_states: bool = False,
        **encoder_inputs: torch.Tensor,
    ) -> SequenceClassifierOutput:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, **encoder_inputs
        ).last_hidden_state
        pooled = masked_mean(hidden, attention_mask)
        return SequenceClassifierOutput(
            logits=self.classifier(self.dropout(pooled)),
            # The last layer only: all the attribution head reads.
            hidden_states=(hidden,) if output_hidden_states else None,
        )

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


@dataclass
class JointOutput(ModelOutput):
    """Stance logits (batch, labels) and attribution tag logits (batch, tokens, tags)."""

    logits: torch.Tensor | None = None
    token_logits: torch.Tensor | None = None


class JointNetwork(torch.nn.Module):
    """A stance classifier (either pooling) with a token-tagging head on the same encoder."""

    def __init__(self, network: torch.nn.Module, num_tags: int) -> None:
        super().__init__()
        self.network = network
        config = network.config
        self.dropout = torch.nn.Dropout(getattr(config, "hidden_dropout_prob", 0.1))
        self.token_classifier = torch.nn.Linear(config.hidden_size, num_tags)

    @property
    def config(self) -> PretrainedConfig:
        return self.network.config

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **inputs: torch.Tensor
    ) -> JointOutput:
        output = self.network(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, **inputs
        )
        hidden = output.hidden_states[-1]
        return JointOutput(
            logits=output.logits, token_logits=self.token_classifier(self.dropout(hidden))
        )

    def save_pretrained(self, directory: str | Path) -> None:
        from safetensors.torch import save_file

        path = Path(directory)
        self.network.save_pretrained(path)
        state = {k: v.contiguous() for k, v in self.token_classifier.state_dict().items()}
        save_file(state, path / ATTRIBUTION_HEAD_FILE)

    @classmethod
    def with_saved_head(cls, network: torch.nn.Module, directory: Path) -> JointNetwork:
        from safetensors.torch import load_file

        head = load_file(directory / ATTRIBUTION_HEAD_FILE)
        joint = cls(network, num_tags=int(head["weight"].shape[0]))
        joint.token_classifier.load_state_dict(head)
        return joint


def has_attribution_head(directory: str | Path) -> bool:
    return (Path(directory) / ATTRIBUTION_HEAD_FILE).is_file()


def build_network(
    base: str,
    pooling: Pooling,
    id2label: dict[int, str],
    label2id: dict[str, int],
    *,
    attribution_tags: int = 0,
) -> torch.nn.Module:
    """A fresh classifier on a pretrained encoder, its head randomly initialised; with
    ``attribution_tags``, an attribution head of that many tags too (``JointNetwork``)."""
    network: torch.nn.Module
    if pooling == "mean":
        encoder = AutoModel.from_pretrained(base, id2label=id2label, label2id=label2id)
        network = MeanPooledClassifier(encoder, num_labels=len(id2label))
    else:
        network = AutoModelForSequenceClassification.from_pretrained(
            base,
            num_labels=len(id2label),
            id2label=id2label,
            label2id=label2id,
            ignore_mismatched_sizes=True,
        )
    return JointNetwork(network, attribution_tags) if attribution_tags else network


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
    """A trained classifier saved by ``save_pretrained``, rebuilt with the pooling it was
    trained with, and with its attribution head when the directory has one.

    Weights load from safetensors; pickled ones only with ``allow_pickle`` (model.weights).
    ``load_options`` go to ``from_pretrained`` (the ONNX export asks for eager attention).
    """
    network: torch.nn.Module
    if pooling == "mean":
        network = MeanPooledClassifier.from_pretrained(
            directory, allow_pickle=allow_pickle, **load_options
        )
    elif pooling == "cls":
        network = _pretrained(
            AutoModelForSequenceClassification, directory, allow_pickle, load_options
        )
    else:
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
    if has_attribution_head(directory):
        return JointNetwork.with_saved_head(network, Path(directory))
    return network


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


class JointLogitsModule(torch.nn.Module):
    """(input_ids, attention_mask) -> (stance logits, token logits): a ``JointNetwork`` as the
    backends and the export see it; the export names its outputs ``output_names``."""

    output_names = ("output", "token_logits")

    def __init__(self, network: JointNetwork) -> None:
        super().__init__()
        self.network = network

    @property
    def config(self) -> PretrainedConfig:
        return self.network.config

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.network(input_ids=input_ids, attention_mask=attention_mask)
        return output.logits, output.token_logits


def logits_module(network: torch.nn.Module) -> LogitsModule | JointLogitsModule:
    """The network as a backend runs it: stance logits, and token logits when it has the head."""
    if isinstance(network, JointNetwork):
        return JointLogitsModule(network)
    return LogitsModule(network)


class SentenceEmbeddingModule(torch.nn.Module):
    """(input_ids, attention_mask) -> (unit-length mean of the token states, as
    sentence-transformers pools; every token's own unit-length state).

    The second output is what /compare's token alignment reads (``model.alignment``): it
    comes out of the same forward pass as the sentence vector, so grouping never runs the
    encoder twice. The export names both outputs ``output_names``.
    """

    output_names = ("output", "token_states")

    def __init__(self, encoder: PreTrainedModel) -> None:
        super().__init__()
        self.encoder = encoder

    @property
    def config(self) -> PretrainedConfig:
        return self.encoder.config

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state.float()
        pooled = torch.nn.functional.normalize(masked_mean(hidden, attention_mask), p=2, dim=1)
        return pooled, torch.nn.functional.normalize(hidden, p=2, dim=2)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, *, allow_pickle: bool = False, **load_options: Any
    ) -> SentenceEmbeddingModule:
        return cls(_pretrained(AutoModel, directory, allow_pickle, load_options))


def load_logits_module(
    directory: str | Path, pooling: str, *, allow_pickle: bool = False, **load_options: Any
) -> LogitsModule | JointLogitsModule:
    return logits_module(
        load_network(directory, pooling, allow_pickle=allow_pickle, **load_options)
    )
