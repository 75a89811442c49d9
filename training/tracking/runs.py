"""The one module that talks to MLflow: runs, figures, the logged model, the registry."""

from __future__ import annotations

import logging
import signal
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.entities import LoggedModelStatus, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

import model as model_package
from model.backends import has_onnx_export
from model.identity import CHAMPION, champion_uri
from model.resolve import (
    ModelNotFoundError,
    UriKind,
    evict,
    locate,
    parse_model_uri,
    resolve_model,
)
from model.store import missing_sqlite_store, missing_store_reason, sqlite_path
from model.table import CLAIM_COLUMNS, ID_COLUMN, NULLABLE_FIELDS, TEXT_COLUMN
from training.config import REPO_ROOT
from training.data import Example, examples_frame
from training.tracking import pyfunc

if TYPE_CHECKING:
    from training.corpus.user_data import UserData

logger = logging.getLogger(__name__)

# Tag on each registered version, so champion comparisons need no run lookups.
SELECTION_METRIC = "validation.macro_f1"
DATA_HASH_TAG = "data_hash"
# Why a person made a version the champion (``promote``).
PROMOTION_REASON_TAG = "promotion_reason"
# MLflow 3's UI opens an experiment on its GenAI views unless this tag says the experiment
# trains models; with it, the claimstance experiment opens on its runs table.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"
MODEL_ARTIFACT = "model"
# MLflow stores a dataset digest in 36 characters.
DIGEST_CHARS = 16


# The pyfunc model: its code (this file, run by MLflow at load) and the package it imports,
# which travels with it so the model loads where claimstance is not installed.
MODEL_CODE = Path(pyfunc.__file__)
MODEL_PACKAGE = Path(model_package.__file__).parent
# The guide's example (docs/labels.md): one text, two claims, a denial and a caveat.
INPUT_EXAMPLE = pd.DataFrame(
    {
        ID_COLUMN: ["kirby"],
        TEXT_COLUMN: [
            "North Korea said it has never exported weapons to Russia. "
            "Kirby said the purchases had not yet been completed."
        ],
    }
)
_SCHEMA_TYPES = {str: "string", int: "long", float: "double"}
# What the logged model imports at predict time: ``model/`` and what it needs on the backend
# the directory serves with (ONNX Runtime when the int8 export is there, else torch).
_PREDICT_DISTRIBUTIONS = (
    "mlflow",
    "pandas",
    "numpy",
    "tokenizers",
    "pysbd",
    "ftfy",
    "beautifulsoup4",
)
_ONNX_DISTRIBUTIONS = ("onnxruntime",)
_TORCH_DISTRIBUTIONS = ("transformers", "safetensors")
# Any torch build >= 2.4 works, CPU or CUDA; which one is the deployment's choice, as in pyproject.
_TORCH_REQUIREMENT = "torch>=2.4"


def model_signature() -> ModelSignature:
    """Input: ``text`` and an optional ``id``; output: a row per claim (``model.table``)."""
    inputs = Schema([ColSpec("string", ID_COLUMN, required=False), ColSpec("string", TEXT_COLUMN)])
    outputs = Schema(
        [
            ColSpec(_SCHEMA_TYPES[kind], name, required=name not in NULLABLE_FIELDS)
            for name, kind in CLAIM_COLUMNS.items()
        ]
    )
    params = ParamSchema([ParamSpec(pyfunc.PER_TEXT_PARAM, "boolean", False)])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _pinned(distribution: str) -> str:
    # A local version label (torch's "+cpu") names a build no package index serves.
    return f"{distribution}=={metadata.version(distribution).split('+')[0]}"


def pip_requirements(model_dir: Path) -> list[str]:
    """The logged model's requirements: this environment's versions, all on the package index."""
    names = list(_PREDICT_DISTRIBUTIONS)
    if has_onnx_export(model_dir, "classifier"):
        return [_pinned(name) for name in (*names, *_ONNX_DISTRIBUTIONS)]
    return [*(_pinned(name) for name in (*names, *_TORCH_DISTRIBUTIONS)), _TORCH_REQUIREMENT]


def git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")


def _artifact_location(tracking_uri: str) -> str | None:
    """Keep artifacts beside a local SQLite store instead of wherever the command ran."""
    database = sqlite_path(tracking_uri)
    return None if database is None else (database.parent / "mlartifacts").resolve().as_uri()


def _use_store(tracking_uri: str) -> None:
    # Runs and registered models live in the same store here.
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def find_experiment_id(tracking_uri: str, experiment: str) -> str | None:
    """The experiment's id, without creating a store or an experiment that is not there."""
    if missing_sqlite_store(tracking_uri) is not None:
        return None
    _use_store(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    return None if found is None else found.experiment_id


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at the store and return the experiment id, creating it on first use."""
    _use_store(tracking_uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        experiment_id = existing.experiment_id
        if existing.tags.get(EXPERIMENT_KIND_TAG) != MODEL_TRAINING_KIND:
            mlflow.MlflowClient().set_experiment_tag(
                experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND
            )
    else:
        experiment_id = mlflow.create_experiment(
            experiment,
            artifact_location=_artifact_location(tracking_uri),
            tags={EXPERIMENT_KIND_TAG: MODEL_TRAINING_KIND},
        )
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


@dataclass
class RunTracker:
    """What a training job logs to its active MLflow run."""

    run_id: str

    def params(self, params: dict[str, str]) -> None:
        # MLflow caps one call at 100 params.
        items = list(params.items())
        for start in range(0, len(items), 100):
            mlflow.log_params(dict(items[start : start + 100]))

    def tags(self, tags: dict[str, str]) -> None:
        mlflow.set_tags(tags)

    def metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        mlflow.log_metrics(metrics, step=step)

    def figure(self, figure: Figure, path: str) -> None:
        mlflow.log_figure(figure, path)

    def text(self, text: str, path: str) -> None:
        mlflow.log_text(text, path)

    def dict(self, payload: dict[str, Any], path: str) -> None:
        mlflow.log_dict(payload, path)

    def dataset(
        self,
        frame: pd.DataFrame,
        *,
        name: str,
        digest: str,
        context: str,
        source: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Log ``frame`` as an input dataset of the run (the UI's Datasets column).

        ``digest`` is ours (the data hash, or the file's sha256), so the same rows get the
        same digest in every run; ``source`` is the file they came from, when there is one.
        """
        with warnings.catch_warnings():
            # A local path matches two of MLflow's equivalent local sources; it says so.
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(
                frame, source=source, name=name, digest=digest[:DIGEST_CHARS], targets="label"
            )
        mlflow.log_input(dataset, context=context, tags=tags)

    def user_file(self, data: UserData, examples: Sequence[Example], *, context: str) -> None:
        """Log a user's file (``data.extra`` or ``evaluate --data``) as an input dataset: its
        sha256 as digest and tag, its path as source, and its rows per split and label."""
        self.dataset(
            examples_frame(examples),
            name=data.name,
            digest=data.digest,
            context=context,
            source=str(data.path),
            tags={**data.count_tags(), "sha256": data.digest},
        )

    def model(self, model_dir: Path) -> str:
        """Log the model directory as the pyfunc model (``training.tracking.pyfunc``); return its URI.

        MLflow keeps the directory under ``artifacts/<its folder name>/``; the service and
        ``export`` search the download for it (``model.card.find_model_directory``).
        """
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(MODEL_CODE),
            artifacts={pyfunc.CLASSIFIER_ARTIFACT: str(model_dir)},
            code_paths=[str(MODEL_PACKAGE)],
            signature=model_signature(),
            input_example=INPUT_EXAMPLE,
            # Explicit requirements: inferring them would load the model in a subprocess.
            pip_requirements=pip_requirements(model_dir),
        )
        return info.model_uri


# Versions registered during the run start_run is running, newest last: withdrawn when
# the run fails after registering them (see start_run).
_RUN_REGISTRATIONS: list[list[Registration]] = []


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (``kill``, a timeout) raises KeyboardInterrupt, as Ctrl-C does, so an
    interrupted run is ended and cleaned up rather than left RUNNING."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def start_run(tracking_uri: str, experiment: str, run_name: str) -> Iterator[RunTracker]:
    """An MLflow run that ends FINISHED, FAILED (an exception) or KILLED (Ctrl-C, SIGTERM).

    A run that fails or is interrupted after it registered a version withdraws
    it: the champion alias goes back where it was and the version is deleted,
    so the registry never offers the model of a run that did not finish.
    """
    configure(tracking_uri, experiment)
    registrations: list[Registration] = []
    _RUN_REGISTRATIONS.append(registrations)
    try:
        with _sigterm_interrupts(), mlflow.start_run(run_name=run_name) as run:
            try:
                yield RunTracker(run.info.run_id)
            except BaseException as error:
                for registration in reversed(registrations):
                    withdraw(registration)
                if isinstance(error, KeyboardInterrupt):
                    # mlflow.start_run would end it FAILED; it was stopped, not broken.
                    mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
                    logger.warning("run %s interrupted: ended as KILLED", run.info.run_id)
                raise
    finally:
        _RUN_REGISTRATIONS.remove(registrations)


@contextmanager
def child_run(run_name: str, tags: dict[str, str], params: dict[str, str]) -> Iterator[RunTracker]:
    """A run nested under the active one (start_run's): it ends with it, FAILED if it raises."""
    with mlflow.start_run(run_name=run_name, nested=True) as run:
        tracker = RunTracker(run.info.run_id)
        tracker.tags({"git_commit": git_commit(), **tags})
        tracker.params(params)
        yield tracker


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    promoted: bool
    previous_champion_score: float | None
    # The champion before this registration, so a failed run can put the alias back.
    previous_champion: str | None = None


def withdraw(registration: Registration) -> None:
    """Undo a registration: the alias back on the previous champion, the version deleted."""
    client = MlflowClient()
    name, version = registration.name, registration.version
    try:
        if registration.promoted:
            if registration.previous_champion is not None:
                client.set_registered_model_alias(name, CHAMPION, registration.previous_champion)
            else:
                client.delete_registered_model_alias(name, CHAMPION)
        client.delete_model_version(name, version)
    except MlflowException as error:
        logger.error("could not withdraw %s version %s: %s", name, version, error)
        return
    logger.warning(
        "%s version %s withdrawn: its run did not finish%s",
        name,
        version,
        f"; champion is version {registration.previous_champion} again"
        if registration.promoted and registration.previous_champion
        else "",
    )


def _check_logged(model_uri: str) -> None:
    """Refuse to register a logged model whose artifacts did not finish uploading."""
    parsed = parse_model_uri(model_uri)
    if parsed.kind is not UriKind.LOGGED:
        return
    status = MlflowClient().get_logged_model(parsed.model_id).status
    if status != LoggedModelStatus.READY:
        raise ValueError(
            f"{model_uri} is {status}, not READY: its artifacts are not all logged, "
            "so it is not registered"
        )


@dataclass(frozen=True)
class Champion:
    version: str
    score: float
    data_hash: str | None
    # Set when a person chose this version: training runs then leave it in place.
    promotion_reason: str | None = None


# Scores a model directory on the current run's validation split.
Rescore = Callable[[Path], float]


def current_champion(name: str) -> Champion | None:
    """The version behind the ``champion`` alias with its recorded score, or None."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    score = version.tags.get(SELECTION_METRIC)
    return Champion(
        version=str(version.version),
        score=float(score) if score is not None else float("-inf"),
        data_hash=version.tags.get(DATA_HASH_TAG),
        promotion_reason=version.tags.get(PROMOTION_REASON_TAG),
    )


def champion_score(name: str) -> tuple[str, float] | None:
    """(version, recorded validation macro-F1) of the current champion, or None."""
    champion = current_champion(name)
    return None if champion is None else (champion.version, champion.score)


def _comparable_score(
    name: str, champion: Champion, data_hash: str, rescore: Rescore | None
) -> float:
    """The champion's score on the same validation split as the candidate's.

    Scores recorded on another corpus are not comparable (its validation
    split differs), so the champion is re-scored on this run's split.
    """
    if champion.data_hash == data_hash or rescore is None:
        return champion.score
    try:
        resolved = resolve_model(champion_uri(name), mlflow.get_tracking_uri())
        score = rescore(resolved.directory)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as error:
        # A champion that cannot be loaded here is compared by its recorded score rather
        # than failing the candidate's run (and withdrawing its version) at the last step.
        logger.warning(
            "champion version %s could not be re-scored (%s); its recorded %.4f stands",
            champion.version,
            error,
            champion.score,
        )
        return champion.score
    logger.info(
        "champion version %s re-scored on this run's validation split: %.4f (recorded %.4f on data %s)",
        champion.version,
        score,
        champion.score,
        champion.data_hash,
    )
    return score


def register(
    model_uri: str,
    name: str,
    score: float,
    run_id: str,
    *,
    data_hash: str = "",
    rescore: Rescore | None = None,
    score_low: float | None = None,
    description: str = "",
) -> Registration:
    """Register a version and move ``champion`` to it only if it beats the current champion.

    With ``score_low`` (the lower end of the candidate's 95% story-bootstrap interval),
    beating means the champion's score falls below that interval: a gain inside the
    noise registers the version but leaves the alias for ``promote`` to move.

    Both are compared on the candidate's validation split: with ``rescore``,
    a champion trained on other data is scored again first. A champion a
    person promoted weighed more than validation, so no run replaces it;
    only another ``promote`` does.
    """
    _check_logged(model_uri)
    version = mlflow.register_model(
        model_uri,
        name,
        tags={SELECTION_METRIC: f"{score:.6f}", DATA_HASH_TAG: data_hash, "run_id": run_id},
    )
    try:
        _describe(name, str(version.version), description)
        registration = _decide_champion(
            name, str(version.version), score, data_hash, rescore, score_low
        )
    except BaseException:
        # Re-scoring the champion failed or was interrupted: the alias has not moved;
        # the version goes, so no version is left that its run did not vouch for.
        withdraw(Registration(name, str(version.version), False, None))
        raise
    if _RUN_REGISTRATIONS:
        _RUN_REGISTRATIONS[-1].append(registration)
    return registration


# Shown on the registered model's page until someone writes their own.
MODEL_DESCRIPTION = (
    "claimstance: labels each claim of news text as assertion, denial or caveat "
    "(label guide: shared/docs/labels.md). Each version's description names its base "
    "model, data and scores; the `champion` alias is the one served."
)


def _describe(name: str, version: str, description: str) -> None:
    """Describe the version, and the registered model when nobody has yet."""
    client = MlflowClient()
    if description:
        client.update_model_version(name, version, description=description)
    if not client.get_registered_model(name).description:
        client.update_registered_model(name, description=MODEL_DESCRIPTION)


def _decide_champion(
    name: str,
    version: str,
    score: float,
    data_hash: str,
    rescore: Rescore | None,
    score_low: float | None,
) -> Registration:
    """Move ``champion`` to the registered ``version`` if it beats the champion (the last step)."""
    client = MlflowClient()
    current = current_champion(name)
    if current is not None and current.promotion_reason:
        logger.info(
            "%s version %s (%.4f) registered; champion version %s stays, promoted by hand (%s). "
            "`python -m training promote %s --reason ...` replaces it",
            name,
            version,
            score,
            current.version,
            current.promotion_reason,
            version,
        )
        return Registration(name, version, False, current.score, current.version)
    current_score = (
        None if current is None else _comparable_score(name, current, data_hash, rescore)
    )
    promoted = current_score is None or (
        score > current_score and (score_low is None or current_score < score_low)
    )
    if current_score is not None and score > current_score and not promoted:
        logger.info(
            "%s version %s gains %.4f over the champion, inside its interval (from %.4f): "
            "the champion stays; `promote` can move it",
            name,
            version,
            score - current_score,
            score_low,
        )
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        logger.info("%s version %s is the new champion (%.4f)", name, version, score)
    else:
        logger.info(
            "%s version %s (%.4f) does not beat champion version %s (%.4f)",
            name,
            version,
            score,
            current.version if current else "-",
            current_score,
        )
    previous = current.version if current is not None else None
    return Registration(name, version, promoted, current_score, previous)


def promote(tracking_uri: str, name: str, version: str, reason: str) -> str | None:
    """Move ``champion`` to ``version`` by a person's decision; returns the previous champion.

    Automatic promotion goes by validation macro-F1 alone. When a person
    weighs other evidence (held-out sets, behaviour tests), the reason is
    kept on the version so the registry shows why it is the champion.
    """
    if not reason.strip():
        raise ValueError("a promotion needs a reason (--reason)")
    if (database := missing_sqlite_store(tracking_uri)) is not None:
        # MLflow would make an empty store here, only to find no version in it.
        raise ValueError(missing_store_reason(database))
    _use_store(tracking_uri)
    client = MlflowClient()
    try:
        previous = current_champion(name)
        # Tagging a version that does not exist fails with RESOURCE_DOES_NOT_EXIST, before
        # the alias moves.
        client.set_model_version_tag(name, version, PROMOTION_REASON_TAG, reason)
        client.set_registered_model_alias(name, CHAMPION, version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ValueError(f"model {name!r} has no version {version!r}") from None
        raise ValueError(f"cannot update the registry at {tracking_uri}: {error}") from None
    logger.info("%s version %s is the champion by hand: %s", name, version, reason)
    return None if previous is None else previous.version


def store_champion(tracking_uri: str, name: str) -> Champion | None:
    """The champion of ``name`` in the store at ``tracking_uri``, or None when it has none."""
    _use_store(tracking_uri)
    return current_champion(name)


def has_champion(tracking_uri: str, name: str) -> bool:
    return store_champion(tracking_uri, name) is not None


def update_registered_model(
    model_uri: str, tracking_uri: str, change: Callable[[Path], Sequence[str]]
) -> str:
    """Let ``change`` add files to a registered version's classifier directory, then upload
    the folders it names into the same logged model, so the version itself carries them.

    Returns the version. Files already there are replaced; nothing else is touched.
    """
    try:
        location = locate(model_uri, tracking_uri)
    except (MlflowException, ModelNotFoundError) as error:
        message = error.message if isinstance(error, MlflowException) else str(error)
        raise ValueError(f"cannot find {model_uri}: {message}") from None
    # MLflow 3 registers a logged model: the version's source is models:/<model id>.
    if location.version is None or location.model_id is None:
        raise ValueError(f"{model_uri} is not a registered version of a logged model")
    with tempfile.TemporaryDirectory(prefix="claimstance-update-") as scratch:
        # A copy, never the store's own files, is changed and then uploaded.
        resolved = resolve_model(model_uri, tracking_uri, Path(scratch))
        assert resolved.download_root is not None
        inside = resolved.directory.relative_to(resolved.download_root).as_posix()
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        for folder in change(resolved.directory):
            client.log_model_artifacts(
                location.model_id,
                str(resolved.directory / folder),
                artifact_path=f"{inside}/{folder}",
            )
    # The version's files changed under the same name, version and run: a cached copy is stale.
    evict(location)
    return location.version
