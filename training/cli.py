"""``python -m training``: use, train, evaluate and register models; keep the data; benchmark.

Commands are grouped in ``--help`` by what a person comes to do. Every command that
takes a model takes ``--model`` (a directory or an MLflow model URI) and resolves it
through ``_resolve``; commands that read the YAML config take ``--config`` and
``key=value`` overrides, and ``--show-config`` prints the result without running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import click
import typer

from model.attribution_head import KindSource
from model.backends import BackendSetting
from model.device import DeviceSetting
from model.identity import ACCURATE_MODEL_URI, DEFAULT_MODEL_URI, champion_uri
from training.config import ConfigError, TrainConfig, load_config
from training.corpus.attribution_sample import (
    SAMPLE_SEED,
    SAMPLE_SIZE,
    SECOND_PASS_SEED,
    SECOND_PASS_SIZE,
)
from training.corpus.user_sample import SEED as USER_SEED
from training.corpus.waves import WaveKind
from training.data import DataError
from training.metrics import EvaluationResult

if TYPE_CHECKING:
    import numpy as np

    from model.resolve import ResolvedModel
    from training.corpus.selection import Sentence, Wave
    from training.evaluation.attribution import HeadAttributor

app = typer.Typer(
    help="Use, train, evaluate and track claimstance models.",
    no_args_is_help=True,
    # Shell completion is not what a person reading --help came for.
    add_completion=False,
)

# The --help panels, in the order a newcomer needs them.
USE = "Use a model"
TRAIN = "Train and evaluate"
REGISTRY = "Registry"
DATA = "Data maintenance"
BENCHMARKS = "Benchmarks"

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="YAML config",
        show_default="training/configs/default.yaml",
    ),
]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "--model-uri",
        metavar="URI",
        help="Model directory, or MLflow model URI (models:/NAME@ALIAS, models:/NAME/VERSION, "
        "runs:/RUN/PATH)",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="KEY=VALUE",
        help="Config overrides such as training.epochs=2 data.szeged=false",
        show_default=False,
    ),
]
ShowConfig = Annotated[
    bool,
    typer.Option("--show-config", help="Print the effective config as YAML and stop"),
]
Yes = Annotated[
    bool, typer.Option("--yes", "-y", help="Rewrite the committed files without asking")
]


def _fail(message: str) -> NoReturn:
    """End the command with ``error: message`` on stderr and exit status 2 (unusable input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _load(
    config: Path | None, overrides: list[str] | None, *, show_config: bool = False
) -> TrainConfig:
    """The effective config; with ``show_config``, print it as YAML and end the command."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        settings = load_config(config, overrides or [])
    except ConfigError as error:
        _fail(str(error))
    if show_config:
        import yaml

        typer.echo(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), nl=False)
        raise typer.Exit(0)
    return settings


def _confirm_rewrite(paths: Sequence[Path], yes: bool) -> None:
    """Ask before a command rewrites committed annotation files, unless ``--yes``."""
    if yes or not paths:
        return
    names = ", ".join(str(path) for path in paths)
    try:
        agreed = typer.confirm(f"rewrite {names} (committed files)?", default=False)
    except click.exceptions.Abort:  # no terminal to ask on, or Ctrl-C
        agreed = False
    if not agreed:
        _fail("nothing written (pass --yes to rewrite without asking)")


def _resolve(model_uri: str, tracking_uri: str) -> ResolvedModel:
    """The one way a command turns ``--model`` into a local directory.

    Downloads are kept in the model cache (``model.resolve.default_cache_dir``) under the
    model's name, version and run, so a second command on the same version reuses them.
    A model that cannot be found ends the command with the reason; what it settled on
    goes to stderr, where it does not mix with a command's output.
    """
    from model.resolve import ModelNotFoundError, resolve_model

    try:
        resolved = resolve_model(model_uri, tracking_uri)
    except ModelNotFoundError as error:
        _fail(f"cannot load {model_uri}: {error.reason}")
    typer.echo(f"model: {resolved.describe()}", err=True)
    return resolved


def _print_results(title: str, results: dict[str, EvaluationResult]) -> None:
    typer.echo(f"\n{title}")
    typer.echo(
        f"  {'set':<14}{'n':>6}{'accuracy':>10}{'macro-F1':>10}{'95% (stories)':>16}"
        "  per-label F1 / recall (assertion, denial, caveat)"
    )
    for name, result in results.items():
        f1 = "/".join(f"{scores['f1']:.3f}" for scores in result.per_label.values())
        recall = "/".join(f"{scores['recall']:.3f}" for scores in result.per_label.values())
        interval = (
            "{:.3f}-{:.3f}".format(*result.macro_f1_interval)
            if result.macro_f1_interval is not None
            else "-"
        )
        typer.echo(
            f"  {name:<14}{result.support:>6}{result.accuracy:>10.3f}{result.macro_f1:>10.3f}"
            f"{interval:>16}  {f1}  R {recall}"
        )


def _run(config: TrainConfig, *, train_transformer: bool) -> None:
    from training.fit.pipeline import run_training

    try:
        report = run_training(config, train_transformer=train_transformer)
    except (DataError, ConfigError) as error:
        _fail(str(error))
    if report is None:  # a torchrun worker besides the main one: it logged nothing to report
        return
    if report.transformer:
        _print_results("transformer", report.transformer)
    _print_results("baseline (TF-IDF + logistic regression)", report.baseline)
    typer.echo(f"\nrun {report.run_id}, data hash {report.data_hash}, {report.seconds:.0f} s")
    if report.transformer:
        typer.echo(f"model directory {report.model_dir}")
    if report.registration is not None:
        state = "now champion" if report.registration.promoted else "champion unchanged"
        typer.echo(
            f"registered {report.registration.name} version {report.registration.version} ({state})"
        )


TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        metavar="URI",
        envvar="MLFLOW_TRACKING_URI",
        help="MLflow store a models:/ URI is looked up in",
        show_default="mlflow.db here",
    ),
]


@app.command(rich_help_panel=USE)
def classify(
    texts: Annotated[
        list[str],
        typer.Argument(
            metavar="TEXT",
            help='Texts to label (quote each); "-" reads one from stdin',
            show_default=False,
        ),
    ],
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    no_segment: Annotated[
        bool, typer.Option("--no-segment", help="Label each text whole, as one claim")
    ] = False,
    tracking_uri: TrackingOption = None,
) -> None:
    """Label each claim of TEXT as assertion, denial or caveat, with its probabilities."""
    import sys

    from model.classifier import ClaimClassifier
    from model.labelling import label_texts
    from model.labels import LABELS
    from model.store import default_tracking_uri

    # The command's output is the labels: loading chatter stays out of it.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    texts = [sys.stdin.read() if text == "-" else text for text in texts]
    resolved = _resolve(model_uri, tracking_uri or default_tracking_uri())
    try:
        classifier = ClaimClassifier.from_directory(resolved.directory)
        labelled = label_texts(classifier, texts, segment=not no_segment)
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))
    for number, text in enumerate(labelled, start=1):
        if len(labelled) > 1:
            typer.echo(f"text {number}")
        if not text.claims:
            typer.echo("  (no claims)")
        for claim in text.claims:
            scores = "  ".join(f"{label.value} {claim.scores[label]:.3f}" for label in LABELS)
            typer.echo(f"{claim.label.value:<10} {scores}  {claim.text}")


def _train_from(
    config: Path | None, overrides: list[str] | None, show_config: bool, *, train_transformer: bool
) -> None:
    """``train`` and ``baseline``: load the config, say which one the run reads, run it."""
    settings = _load(config, overrides, show_config=show_config)
    named = str(config) if config is not None else "training/configs/default.yaml"
    extra = f" + {' '.join(overrides)}" if overrides else ""
    typer.echo(f"config: {named}{extra} (--show-config prints all of it)", err=True)
    _run(settings, train_transformer=train_transformer)


@app.command(rich_help_panel=TRAIN)
def train(
    config: ConfigOption = None, overrides: Overrides = None, show_config: ShowConfig = False
) -> None:
    """Fine-tune the transformer and the baseline on one split, log both, register the model."""
    _train_from(config, overrides, show_config, train_transformer=True)


@app.command(rich_help_panel=TRAIN)
def baseline(
    config: ConfigOption = None, overrides: Overrides = None, show_config: ShowConfig = False
) -> None:
    """Train and score only the TF-IDF + logistic-regression baseline."""
    _train_from(config, overrides, show_config, train_transformer=False)


JsonOption = Annotated[
    Path | None,
    typer.Option("--json", metavar="PATH", help="Also write the scores and the model as JSON"),
]


def _model_record(resolved: ResolvedModel, backend: str) -> dict[str, str | None]:
    return {
        "uri": resolved.uri,
        "name": resolved.name,
        "version": resolved.version,
        "run_id": resolved.run_id,
        "alias": resolved.alias,
        "backend": backend,
    }


def _write_json(path: Path, payload: dict[str, object]) -> None:
    import json

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write {path}: {error}")
    typer.echo(f"wrote {path}", err=True)


@app.command(rich_help_panel=TRAIN)
def evaluate(
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="FILE",
            help="Your labelled file (csv, jsonl, parquet; as data.extra): score it instead "
            "of the built-in sets, and log an evaluation run",
        ),
    ] = None,
    json_out: JsonOption = None,
    config: ConfigOption = None,
    overrides: Overrides = None,
    show_config: ShowConfig = False,
) -> None:
    """Score a model on validation and every test set, or on your own labelled file (--data)."""
    from training.fit.pipeline import evaluate_model

    settings = _load(config, overrides, show_config=show_config)
    if data is not None:
        _evaluate_file(model_uri, data, settings, json_out)
        return
    resolved = _resolve(model_uri, settings.tracking_uri)
    try:
        evaluation = evaluate_model(resolved.directory, settings)
    except (DataError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    _print_results(
        f"{resolved.describe()}, {evaluation.backend} backend, data {evaluation.data_hash}",
        evaluation.results,
    )
    if json_out is not None:
        _write_json(
            json_out,
            {
                "model": _model_record(resolved, evaluation.backend),
                "data_hash": evaluation.data_hash,
                "sets": {name: result.as_dict() for name, result in evaluation.results.items()},
            },
        )


def _evaluate_file(
    model_uri: str, path: Path, settings: TrainConfig, json_out: Path | None
) -> None:
    from model.classifier import ClaimClassifier
    from training.evaluation.user_file import (
        evaluate_on_file,
        log_evaluation,
        read_test_rows,
        report_lines,
    )

    # The file first: a bad one fails in a second, before a model is downloaded or loaded.
    try:
        data, scored = read_test_rows(path, max_mb=settings.data.extra_max_mb)
    except DataError as error:
        _fail(str(error))
    resolved = _resolve(model_uri, settings.tracking_uri)
    try:
        classifier = ClaimClassifier.from_directory(
            resolved.directory, device=settings.training.device
        )
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))
    evaluation = evaluate_on_file(classifier, data, scored)
    typer.echo(f"model {resolved.describe()}, {classifier.backend.name} backend")
    for line in report_lines(evaluation):
        typer.echo(line)
    run_id = log_evaluation(
        evaluation,
        tracking_uri=settings.tracking_uri,
        experiment=settings.experiment,
        model_uri=model_uri,
        source=resolved.provenance(),
    )
    typer.echo(f"logged as evaluation run {run_id}")
    if json_out is not None:
        _write_json(
            json_out,
            {
                "model": _model_record(resolved, classifier.backend.name),
                "data": str(path),
                "evaluation_run_id": run_id,
                "sets": {evaluation.result.name: evaluation.result.as_dict()},
            },
        )


@app.command(rich_help_panel=REGISTRY)
def promote(
    version: Annotated[
        str, typer.Argument(metavar="VERSION", help="Registered version to make the champion")
    ],
    reason: Annotated[str, typer.Option(help="Why, kept as a tag on the version")],
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Make a registered version the champion by hand, recording why.

    Training runs then leave it in place until the next ``promote``.
    """
    from training.tracking.runs import promote as promote_version

    settings = _load(config, overrides)
    try:
        previous = promote_version(
            settings.tracking_uri, settings.registered_model, version, reason
        )
    except ValueError as error:
        _fail(str(error))
    was = f" (was version {previous})" if previous and previous != version else ""
    typer.echo(f"{settings.registered_model} version {version} is now champion{was}")


@app.command("ensure-model", rich_help_panel=REGISTRY)
def ensure_model(config: ConfigOption = None, overrides: Overrides = None) -> None:
    """Train the configured model unless the registry already has a champion; print its URI."""
    from training.tracking.runs import store_champion

    settings = _load(config, overrides)
    uri = champion_uri(settings.registered_model)
    champion = store_champion(settings.tracking_uri, settings.registered_model)
    if champion is not None:
        typer.echo(f"{uri} is version {champion.version}; not training")
        return
    typer.echo(f"no {uri} in the registry yet: training it (takes a while on CPU)")
    _run(settings, train_transformer=True)
    champion = store_champion(settings.tracking_uri, settings.registered_model)
    if champion is None:  # register_model=false, or a torchrun worker besides the main one
        typer.echo(f"training registered no {uri}", err=True)
        return
    typer.echo(f"{uri} is version {champion.version}")


@app.command(rich_help_panel=REGISTRY)
def export(
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    output: Annotated[
        Path | None,
        typer.Option(help="Write a servable copy here instead of updating the model in place"),
    ] = None,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Write the int8 ONNX exports (classifier and /compare encoder) of a trained model.

    Training does this for every new version. For a version trained before, this adds them
    to the registered version itself (or to a model directory, or a copy in --output).
    """
    import shutil

    from training.fit.pipeline import EXPORTED_FOLDERS, export_model_dir
    from training.tracking.runs import update_registered_model

    settings = _load(config, overrides)

    def add_exports(directory: Path) -> tuple[str, ...]:
        from model.classifier import ClaimClassifier
        from training.corpus.build import build_corpus

        # Scored against its own fp32 weights on validation, as training does, so the
        # export kept is the fastest scheme within tolerance.
        try:
            corpus = build_corpus(settings.data, seed=settings.seed)
        except (FileNotFoundError, ValueError) as error:
            typer.echo(f"no corpus to check the export against ({error}): plain int8", err=True)
            export_model_dir(directory, settings)
            return EXPORTED_FOLDERS
        reference = ClaimClassifier.from_directory(directory, device="cpu", backend="torch")
        metrics = export_model_dir(
            directory,
            settings,
            reference,
            {"validation": corpus.validation},
            [e.text for e in corpus.train],
        )
        if "onnx.validation.macro_f1" in metrics:
            typer.echo(
                f"validation macro-F1 of the served export: "
                f"{metrics['onnx.validation.macro_f1']:.4f}"
            )
        return EXPORTED_FOLDERS

    try:
        if output is None and not Path(model_uri).is_dir():
            version = update_registered_model(model_uri, settings.tracking_uri, add_exports)
            typer.echo(f"exported; {model_uri} (version {version}) now serves on ONNX")
            return
        target = _resolve(model_uri, settings.tracking_uri).directory
        if output is not None and output.resolve() != target.resolve():
            shutil.copytree(target, output, dirs_exist_ok=True)
            target = output
        add_exports(target)
    except (FileNotFoundError, ValueError, ConfigError) as error:
        _fail(str(error))
    typer.echo(f"exported into {target}; serve it with CLAIMSTANCE_MODEL_URI={target}")


@app.command("experiment-id", rich_help_panel=REGISTRY)
def experiment_id(config: ConfigOption = None, overrides: Overrides = None) -> None:
    """Print the id of the configured experiment (for links into the MLflow UI)."""
    from model.store import missing_sqlite_store, missing_store_reason
    from training.tracking.runs import find_experiment_id

    settings = _load(config, overrides)
    if (database := missing_sqlite_store(settings.tracking_uri)) is not None:
        _fail(missing_store_reason(database))
    found = find_experiment_id(settings.tracking_uri, settings.experiment)
    if found is None:
        typer.echo(
            f"error: no experiment {settings.experiment!r} in {settings.tracking_uri}", err=True
        )
        raise typer.Exit(2)
    typer.echo(found)


@app.command(rich_help_panel=TRAIN)
def corpus(config: ConfigOption = None, overrides: Overrides = None) -> None:
    """Print the merged corpus: counts per source x label x split, and its hash."""
    from training.corpus.build import build_corpus
    from training.fit.pipeline import corpus_table

    settings = _load(config, overrides)
    try:
        built = build_corpus(settings.data, seed=settings.seed)
    except DataError as error:
        _fail(str(error))
    typer.echo(corpus_table(built), nl=False)
    typer.echo(f"data hash {built.hash}")


@app.command(rich_help_panel=DATA)
def stories(config: ConfigOption = None, overrides: Overrides = None) -> None:
    """Rebuild training/corpus/annotations/stories.csv: which groups tell one story."""
    from training.corpus.stories import STORIES_FILE, find_stories, write_stories

    settings = _load(config, overrides)
    typer.echo("segmenting every FNC-1 body and matching near-copy sentences...", err=True)
    found = find_stories(settings.data.raw_dir)
    write_stories(found)
    typer.echo(
        f"{len(set(found.values()))} stories span {len(found)} groups; written to {STORIES_FILE}"
    )


@app.command("natural-sample", rich_help_panel=DATA)
def natural_sample(
    count: Annotated[int, typer.Option(min=1, help="Sentences to draw")] = 600,
    seed: Annotated[int, typer.Option(help="Seed of the uniform draw")] = 20261130,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Draw news_natural's sentences uniformly from test-story bodies, for annotation."""
    from training.corpus.natural import SAMPLE_FILE, sample_natural, write_sample

    settings = _load(config, overrides)
    sample = sample_natural(
        settings.data.raw_dir,
        count=count,
        seed=seed,
        validation_fraction=settings.data.validation_fraction,
        test_fraction=settings.data.news_test_fraction,
    )
    write_sample(sample)
    typer.echo(f"{len(sample)} sentences written to {SAMPLE_FILE}")


@app.command("natural-audit-sample", rich_help_panel=DATA)
def natural_audit_sample(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Folder for the batches and key")],
    others: Annotated[int, typer.Option(min=0, help="Non-denial rows drawn beside")] = 240,
    batches: Annotated[int, typer.Option(min=1, help="Batch files to split the rows into")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the draw and the shuffle")] = 20261206,
) -> None:
    """Draw news_natural's blind relabelling audit: every denial and a seeded draw of the rest.

    The batch files carry no label; ``key.csv`` (kept from annotators) maps each row back.
    """
    from collections import Counter

    from training.corpus.natural_audit import audit_sample, natural_rows, write_batches

    try:
        sample = audit_sample(natural_rows(), others=others, seed=seed)
    except DataError as error:
        _fail(str(error))
    write_batches(sample, out, batches=batches)
    mix = Counter(row.label for row in sample)
    typer.echo(f"{len(sample)} rows ({dict(sorted(mix.items()))}) in {batches} batches in {out}")


@app.command("natural-audit-merge", rich_help_panel=DATA)
def natural_audit_merge(
    sample_dir: Annotated[
        Path, typer.Argument(metavar="SAMPLE", help="The folder natural-audit-sample wrote")
    ],
    pass_a: Annotated[Path, typer.Argument(metavar="PASS_A", help="First blind pass's batches")],
    pass_b: Annotated[Path, typer.Argument(metavar="PASS_B", help="Second blind pass's batches")],
    adjudication: Annotated[
        Path | None,
        typer.Option(help="audit_id,label answers for the rows no pass agrees with"),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the final labels into the news_natural files")
    ] = False,
) -> None:
    """Agreement of the audit's blind passes with the scored labels; the audit record, and
    with ``--apply`` the final labels in news_natural."""
    from training.corpus.agreement import agreement
    from training.corpus.natural_audit import (
        AUDIT_FILE,
        apply_audit,
        audited_rows,
        write_audit,
    )

    try:
        rows = audited_rows(sample_dir, pass_a, pass_b, adjudication)
    except DataError as error:
        _fail(str(error))
    for name, first, second in (
        ("original vs pass A", [r.original for r in rows], [r.pass_a for r in rows]),
        ("original vs pass B", [r.original for r in rows], [r.pass_b for r in rows]),
        ("pass A vs pass B", [r.pass_a for r in rows], [r.pass_b for r in rows]),
    ):
        result = agreement(first, second)
        typer.echo(f"{name}: raw {result.raw:.3f}, kappa {result.kappa:.3f} ({result.items} rows)")
    for label in sorted({r.original for r in rows}):
        chosen = [r for r in rows if r.original == label]
        kept = sum(r.final == label for r in chosen)
        typer.echo(f"  {label:<9} {len(chosen):>4} audited, {kept:>4} kept")
    write_audit(rows)
    typer.echo(f"audit record written to {AUDIT_FILE}")
    if apply:
        typer.echo(f"{apply_audit()} labels changed in the news_natural files")


@app.command("user-file-sample", rich_help_panel=DATA)
def user_file_sample(
    out: Annotated[Path | None, typer.Option(help="Where to write the CSV")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the draw and of the story split")] = USER_SEED,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Draw the example user's file (issue 26's experiment) from the Wikinews gold openings.

    Denials, caveats and assertions from test stories no run trains on, none a near-copy of
    the corpus; half the stories marked train, half test (docs/data.md).
    """
    from collections import Counter

    from model.labels import LABELS
    from training.corpus.user_sample import USER_FILE, draw_from_gold, write_user_file

    settings = _load(config, overrides)
    path = out or USER_FILE
    try:
        rows = draw_from_gold(settings.data, seed=seed, corpus_seed=settings.seed)
    except DataError as error:
        _fail(str(error))
    try:
        write_user_file(rows, path)
    except OSError as error:
        _fail(f"cannot write {path}: {error.strerror}")
    counts = Counter((row.split.value, row.label.value) for row in rows)
    stories: dict[str, set[str]] = {row.split.value: set() for row in rows}
    for row in rows:
        stories[row.split.value].add(row.story)
    typer.echo(f"{len(rows)} rows written to {path}")
    for split, names in stories.items():
        mix = ", ".join(f"{counts[(split, label.value)]} {label.value}" for label in LABELS)
        typer.echo(f"  {split}: {len(names)} stories, {mix}")


@app.command("annotation-sample", rich_help_panel=DATA)
def annotation_sample(
    wave: Annotated[WaveKind, typer.Argument(metavar="WAVE", help="What this round draws")],
    out: Annotated[Path, typer.Option(help="Folder for the batch files")] = Path(
        "outputs/annotation"
    ),
    batches: Annotated[int, typer.Option(min=1, help="Files to split the wave into")] = 7,
    seed: Annotated[int, typer.Option(help="Seed of every draw")] = 20261205,
    model_uri: Annotated[
        str,
        typer.Option(
            "--model", "--model-uri", metavar="URI", help="doubt: the first model (the fast one)"
        ),
    ] = DEFAULT_MODEL_URI,
    second_uri: Annotated[
        str | None,
        typer.Option(
            "--second-model",
            "--second-uri",
            metavar="URI",
            help="doubt: the second model (the accurate one)",
            show_default="the TF-IDF baseline",
        ),
    ] = None,
    disagreements: Annotated[int, typer.Option(min=0)] = 900,
    uncertain: Annotated[int, typer.Option(min=0)] = 900,
    likely_denials: Annotated[int, typer.Option(min=0)] = 600,
    fnc1_openings: Annotated[
        int, typer.Option(min=0, help="doubt, openings: openings of further FNC-1 test bodies")
    ] = 0,
    wikinews_openings: Annotated[
        int, typer.Option(min=0, help="doubt: openings of further Wikinews test articles")
    ] = 0,
    total: Annotated[
        int, typer.Option(min=1, help="pushback: sentences to draw (fewer if the wording runs out)")
    ] = 700,
    broad_share: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="pushback: most of the wave from bare negations")
    ] = 0.3,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Draw the next sentences for annotators, by wording, doubt or openings.

    Whole test-story openings and training sentences chosen by stance wording
    (``wording``), or by two models' doubt (``doubt``), or openings read further
    (``openings``), or push-back wording the first wave's deny-words missed (``pushback``).

    Sentences already labelled, or already in ``out`` from an earlier wave, are never drawn.
    """
    from training.corpus import selection
    from training.corpus.news_gold import ANNOTATIONS

    settings = _load(config, overrides)
    data = settings.data
    sentences = selection.all_sentences(
        data.raw_dir,
        validation_fraction=data.validation_fraction,
        test_fraction=data.news_test_fraction,
    )
    taken = selection.labelled_texts(ANNOTATIONS) | selection.texts_in(out)
    drawn_documents = selection.documents_in(out)
    if wave is WaveKind.WORDING:
        drawn = selection.wording_wave(sentences, taken, seed=seed)
    elif wave is WaveKind.OPENINGS:
        drawn = selection.further_openings_wave(
            sentences, drawn_documents, seed=seed, fnc1=fnc1_openings
        )
    elif wave is WaveKind.PUSHBACK:
        drawn = _pushback_wave(
            sentences, taken, settings, seed=seed, total=total, broad_share=broad_share
        )
    else:
        first = _probabilities_of(model_uri, settings)
        second = _probabilities_of(second_uri, settings)
        doubt = selection.doubt_wave(
            sentences,
            taken,
            first,
            second,
            second_name="baseline" if second_uri is None else "accurate",
            disagreements=disagreements,
            uncertain=uncertain,
            likely_denials=likely_denials,
        )
        openings = selection.more_openings(
            sentences,
            drawn_documents,
            seed=seed,
            documents={selection.FNC1: fnc1_openings, selection.WIKINEWS: wikinews_openings},
        )
        drawn = selection.Wave(evaluation=openings, training=doubt.training)
    # Numbered by the files already there, so a later round never overwrites an earlier one.
    prefix = f"{wave.value}_{len(list(out.glob('*.csv')))}"
    paths = selection.write_batches(drawn, out, batches=batches, seed=seed, prefix=prefix)
    typer.echo(
        f"{len(drawn.evaluation)} opening and {len(drawn.training)} training sentences "
        f"in {len(paths)} files under {out}"
    )


def _pushback_wave(
    sentences: Sequence[Sentence],
    taken: set[str],
    settings: TrainConfig,
    *,
    seed: int,
    total: int,
    broad_share: float,
) -> Wave:
    """The push-back wording wave, clear of near-copies of every evaluation set's sentences."""
    from training.corpus import pushback
    from training.corpus.build import build_corpus, evaluation_texts
    from training.corpus.near_copies import NearCopyIndex

    # Training drops near-copies of evaluation sentences at build time: never spend a label on one.
    corpus = build_corpus(settings.data, seed=settings.seed)
    held_out = NearCopyIndex(evaluation_texts(corpus.evaluation))
    drawn = pushback.pushback_wave(
        sentences, taken, seed=seed, total=total, broad_share=broad_share, held_out=held_out
    )
    counts = pushback.counts(drawn)
    typer.echo("by family: " + ", ".join(f"{k} {v}" for k, v in counts.by_family.items()))
    typer.echo("by wording: " + ", ".join(f"{k} {v}" for k, v in counts.by_group.items()))
    return drawn


def _probabilities_of(
    model_uri: str | None, settings: TrainConfig
) -> Callable[[Sequence[str]], np.ndarray]:
    """A registered model's probabilities, or (no URI) the TF-IDF baseline's, trained here on
    the configured corpus in seconds."""
    if model_uri is None:
        from training.corpus.build import build_corpus
        from training.fit.baseline import Baseline

        corpus = build_corpus(settings.data, seed=settings.seed)
        return Baseline(settings.baseline, seed=settings.seed).fit(corpus.train).predict_proba
    from model.classifier import ClaimClassifier

    classifier = ClaimClassifier.from_directory(
        _resolve(model_uri, settings.tracking_uri).directory, batch_size=64
    )
    return classifier.predict_proba


@app.command("annotation-second-pass", rich_help_panel=DATA)
def annotation_second_pass(
    candidates: Annotated[
        Path, typer.Argument(metavar="CANDIDATES", help="Folder of the batch files annotators read")
    ],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="CSV for the blind second annotator")],
    fraction: Annotated[float, typer.Option(min=0.01, max=1.0)] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the draw")] = 7,
) -> None:
    """Draw a seeded share of every batch, shuffled, for a blind second pass (no labels)."""
    import csv

    from training.corpus.selection import CANDIDATE_COLUMNS, second_pass_sample

    rows = second_pass_sample(candidates, fraction=fraction, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CANDIDATE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        # The reason a row was drawn could lean the second annotator: it is left blank, and
        # the label column is empty whatever the batch file held.
        writer.writerows({**row, "selected_by": "", "label": ""} for row in rows)
    typer.echo(f"{len(rows)} rows written to {out}")


@app.command("annotation-merge", rich_help_panel=DATA)
def annotation_merge(
    candidates: Annotated[
        Path, typer.Argument(metavar="CANDIDATES", help="Folder of the batch files annotators read")
    ],
    labels: Annotated[
        Path,
        typer.Argument(
            metavar="LABELS", help="Folder of their answers: the same file names, id,label"
        ),
    ],
    add: Annotated[
        bool,
        typer.Option(
            "--add", help="Keep the rows already in the files (a later wave's batches alone)"
        ),
    ] = False,
    yes: Yes = False,
) -> None:
    """Write the labelled waves into the committed annotation files.

    Training rows go to active_gold.csv, openings to natural_openings.csv (both rewritten
    whole, sorted by id), with the adjudicated labels of active_gold_second_pass.csv where
    the two passes disagreed. Without --add, CANDIDATES must hold every wave's batches; with
    it, rows already in the files stay unless a merged batch carries the same id. Asks first
    unless --yes.
    """
    from training.corpus.active import (
        ACTIVE_FILE,
        OPENINGS_FILE,
        adjudicated_labels,
        with_existing,
        write_merged,
    )
    from training.corpus.selection import merge_labels

    try:
        openings, training = merge_labels(candidates, labels, adjudicated_labels())
    except ValueError as error:
        _fail(str(error))
    if add:
        openings = with_existing(openings, OPENINGS_FILE)
        training = with_existing(training, ACTIVE_FILE)
    # Asked once the answers check out: a refused merge never gets as far as the question.
    _confirm_rewrite([path for path in (OPENINGS_FILE, ACTIVE_FILE) if path.exists()], yes)
    write_merged(openings, training)
    typer.echo(f"{len(openings)} rows written to {OPENINGS_FILE}")
    typer.echo(f"{len(training)} rows written to {ACTIVE_FILE}")


@app.command("attribution-sample", rich_help_panel=DATA)
def attribution_sample(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT_DIR", help="Folder for in/ and second_in/ batch files")
    ],
    size: Annotated[int, typer.Option(min=1, help="Sentences to draw")] = SAMPLE_SIZE,
    seed: Annotated[int, typer.Option(help="Seed of the draw")] = SAMPLE_SEED,
    second_size: Annotated[
        int, typer.Option(min=0, help="Rows of the blind second pass")
    ] = SECOND_PASS_SIZE,
    second_seed: Annotated[
        int, typer.Option(help="Seed of the second-pass draw")
    ] = SECOND_PASS_SEED,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Draw labelled news sentences for annotators to mark attribution spans (source, cue).

    Batches of 300 for annotators in OUT_DIR/in, and a blind second pass drawn from every
    batch in OUT_DIR/second_in. Splits keep the stance corpus's shares, each story in its
    split.
    """
    from training.corpus.attribution import corpus_news, gold_sentences, labelled_sentences
    from training.corpus.attribution_sample import (
        SampleExistsError,
        composition_table,
        draw_sample,
        write_manifest,
        write_sample,
    )
    from training.corpus.build import build_corpus

    settings = _load(config, overrides)
    try:
        corpus = build_corpus(settings.data, seed=settings.seed)
        sentences = gold_sentences(labelled_sentences(), corpus_news(corpus.all_examples))
        sample, plan = draw_sample(sentences, size=size, seed=seed)
        first, second = write_sample(
            out_dir, sample, second_count=second_size, second_seed=second_seed
        )
    except (DataError, SampleExistsError) as error:
        _fail(str(error))
    write_manifest(
        out_dir,
        plan,
        seed=seed,
        second_seed=second_seed,
        second_count=second_size,
        data_hash=corpus.hash,
    )
    typer.echo(
        f"{len(sample)} of {len(sentences)} labelled news sentences drawn (drawn of available):"
    )
    for line in composition_table(plan):
        typer.echo(f"  {line}")
    typer.echo(
        f"{len(first)} batches in {out_dir / 'in'}, {len(second)} in {out_dir / 'second_in'}"
    )


@app.command("attribution-merge", rich_help_panel=DATA)
def attribution_merge(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT_DIR", help="The folder attribution-sample wrote")
    ],
    gold: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Gold file to write",
            show_default="training/corpus/annotations/attribution_gold.csv",
        ),
    ] = None,
    yes: Yes = False,
) -> None:
    """Check the attribution answers, then write the gold spans as character offsets.

    Every answer in OUT_DIR/out is checked (OUT_DIR/adjudicated.csv wins over it). A bad
    row refuses the merge, naming its batch, id and problem, and nothing is written.
    Asks before replacing an existing gold file unless --yes.
    """
    from collections import Counter

    from training.corpus.attribution import (
        ATTRIBUTION_GOLD_FILE,
        AttributionError,
        merge_answers,
        write_gold,
    )

    target = gold or ATTRIBUTION_GOLD_FILE
    try:
        merged = merge_answers(out_dir)
    except (AttributionError, DataError) as error:
        _fail(str(error))
    _confirm_rewrite([target] if target.exists() else [], yes)
    write_gold(merged.answers, target)
    kinds = Counter(
        a.source_kind.value if a.source_kind else "null" for a in merged.answers.values()
    )
    typer.echo(
        f"{len(merged.answers)} sentences written to {target} "
        f"({merged.adjudicated} adjudicated; {merged.unanswered} handed out but not yet answered)"
    )
    typer.echo("  " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))


KindOption = Annotated[
    KindSource | None,
    typer.Option(
        "--kind",
        help="With --model: who names the source's kind, head or rules",
        show_default="what the model's card says",
    ),
]


@app.command("attribution-eval", rich_help_panel=TRAIN)
def attribution_eval_command(
    model_uri: Annotated[
        str | None,
        typer.Option(
            "--model",
            "--model-uri",
            metavar="URI",
            help="Score this model's attribution head instead of the rules (a directory or "
            "an MLflow model URI, as --model elsewhere)",
            show_default="the rules",
        ),
    ] = None,
    kind: KindOption = None,
    backend: Annotated[
        BackendSetting,
        typer.Option(help="With --model: onnx (int8, as served), torch (fp32) or auto"),
    ] = "auto",
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Score the rule attributor, or a model's attribution head (--model), on the gold
    source and cue spans, split by split."""
    from model.attribution import Attributor, RuleAttributor
    from training.corpus.attribution import AttributionError, load_attribution_gold
    from training.corpus.build import build_corpus
    from training.evaluation.attribution import HeadError, score_attributor

    if kind is not None and model_uri is None:
        _fail("--kind needs --model: the rules always name the kind themselves")
    settings = _load(config, overrides)
    try:
        corpus = build_corpus(settings.data, seed=settings.seed)
        gold = load_attribution_gold(corpus.all_examples)
    except (AttributionError, DataError, FileNotFoundError) as error:
        _fail(str(error))
    attributor: Attributor = RuleAttributor()
    title = "rule attributor"
    if model_uri is not None:
        attributor, title = _head_attributor(model_uri, settings, backend, kind)
    try:
        scores = score_attributor(attributor, gold)
    except HeadError as error:
        _fail(str(error))
    typer.echo(title)
    typer.echo(
        f"  {'split':<12}{'n':>6}{'sourced':>9}{'src exact':>11}{'src tokF1':>11}"
        f"{'cue exact':>11}{'cue tokF1':>11}{'null-vs-not F1':>16}{'kind acc':>10}"
    )
    for split, result in scores.items():
        typer.echo(
            f"  {split.value:<12}{result.sentences:>6}{result.with_source:>9}"
            f"{result.source_exact:>11.3f}{result.source_token_f1:>11.3f}"
            f"{result.cue_exact:>11.3f}{result.cue_token_f1:>11.3f}"
            f"{result.has_source_f1:>16.3f}{result.kind_accuracy:>10.3f}"
        )


def _head_attributor(
    model_uri: str, settings: TrainConfig, backend: str, kind: KindSource | None
) -> tuple[HeadAttributor, str]:
    """The model's attribution head as an attributor, and the line that names it."""
    from model.classifier import ClaimClassifier
    from training.evaluation.attribution import HeadAttributor, HeadError

    resolved = _resolve(model_uri, settings.tracking_uri)
    try:
        classifier = ClaimClassifier.from_directory(
            resolved.directory,
            device=settings.training.device,
            backend=backend,
            attribution_kind=kind,
        )
        attributor = HeadAttributor(classifier)
    except (HeadError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    chosen = kind or classifier.card.attribution_kind
    return attributor, (
        f"{resolved.describe()}: attribution head, {classifier.backend.name} backend, "
        f"kind from {chosen}"
    )


@app.command("attribution-agreement", rich_help_panel=DATA)
def attribution_agreement_command(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT_DIR", help="The folder attribution-sample wrote")
    ],
) -> None:
    """Agreement of the two attribution passes; writes the disagreements for adjudication.

    Compares the blind second pass (OUT_DIR/second_out) with the first (OUT_DIR/out) on
    the sentences both answered; writes OUT_DIR/disagreements.csv.
    """
    from training.corpus.agreement import (
        DISAGREEMENT_COLUMNS,
        attribution_agreement,
        disagreement_rows,
    )
    from training.corpus.attribution import AttributionError, read_passes, write_rows

    try:
        first, second, batches = read_passes(out_dir)
    except (AttributionError, DataError) as error:
        _fail(str(error))
    texts = {sentence_id: row.text for sentence_id, row in batches.items()}
    result = attribution_agreement(first, second, texts)
    typer.echo(f"{result.items} sentences answered in both passes")
    typer.echo(f"  {'':<34}{'n':>6}{'exact':>8}{'token F1':>10}")
    typer.echo(
        f"  {'source (either pass has one)':<34}{result.source_items:>6}"
        f"{result.source_exact:>8.3f}{result.source_token_f1:>10.3f}"
    )
    typer.echo(
        f"  {'cue (either pass has one)':<34}{result.source_items:>6}"
        f"{result.cue_exact:>8.3f}{result.cue_token_f1:>10.3f}"
    )
    typer.echo(f"  {'':<34}{'n':>6}{'agree':>8}{'kappa':>10}{'F1':>8}")
    typer.echo(
        f"  {'null vs source':<34}{result.items:>6}{result.null_accuracy:>8.3f}"
        f"{result.null_kappa:>10.3f}{result.has_source_f1:>8.3f}"
    )
    typer.echo(
        f"  {'kind (both passes have a source)':<34}{result.kind_items:>6}"
        f"{result.kind_agreement:>8.3f}{result.kind_kappa:>10.3f}"
    )
    path = out_dir / "disagreements.csv"
    write_rows(path, DISAGREEMENT_COLUMNS, disagreement_rows(result, first, second, batches))
    typer.echo(f"{len(result.differences)} disagreements written to {path}")


@app.command("agreement", rich_help_panel=DATA)
def agreement_command(
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH", help="CSV with first_label and second_label (and optionally sample)"
        ),
    ] = None,
) -> None:
    """Cohen's kappa between the first and the blind second pass of an annotation sample."""
    from training.corpus.agreement import agreement
    from training.corpus.natural import SECOND_PASS_FILE
    from training.data import read_csv_rows

    path = path or SECOND_PASS_FILE
    try:
        rows = read_csv_rows(path, ("first_label", "second_label"))
    except DataError as error:
        _fail(str(error))
    samples = sorted({row.get("sample", "") for row in rows})
    for sample in samples + (["all"] if len(samples) > 1 else []):
        chosen = [r for r in rows if sample == "all" or r.get("sample", "") == sample]
        result = agreement([r["first_label"] for r in chosen], [r["second_label"] for r in chosen])
        typer.echo(
            f"{sample or path.name}: {result.items} items, raw agreement {result.raw:.3f}, "
            f"kappa {result.kappa:.3f} (with skip); {result.labelled_items} items neither pass "
            f"skipped: kappa {result.labelled_kappa:.3f}"
        )
        for (first, second), count in result.disagreements.most_common():
            typer.echo(f"  {first:>9} -> {second:<9} {count}")


@app.command(rich_help_panel=BENCHMARKS)
def bench(
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    http: Annotated[
        bool, typer.Option("--http", help="Also start the service and load it over HTTP")
    ] = False,
    paths: Annotated[
        str,
        typer.Option(help='In-process paths to run, comma-separated; "all", or "" for none'),
    ] = "all",
    soak_seconds: Annotated[
        float,
        typer.Option("--soak", help="Then a mixed load for this many seconds, reporting RSS"),
    ] = 0.0,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Speed, accuracy and memory of each backend beside transformers.pipeline, as one table."""
    from training.bench.backends import (
        PATHS,
        bench_sentences,
        http_table,
        in_process_table,
        soak_report,
    )

    settings = _load(config, overrides)
    model_dir = _resolve(model_uri, settings.tracking_uri).directory
    data = bench_sentences(config, overrides or [])
    chosen = (
        list(PATHS)
        if paths == "all"
        else [path.strip() for path in paths.split(",") if path.strip()]
    )
    if chosen:
        typer.echo(in_process_table(model_dir, data, chosen))
    short = [text for text in data["speed"] if len(text) < 120][:500]  # type: ignore[union-attr]
    documents = [
        {"id": path.stem, "text": path.read_text(encoding="utf-8")}
        for path in sorted(settings.data.examples_dir.glob("*.txt"))
    ]
    if http:
        typer.echo(
            "\nHTTP on loopback, one short claim per /classify request; /compare: the examples"
        )
        typer.echo(http_table(str(model_dir), short, documents))
    if soak_seconds:
        typer.echo(soak_report(str(model_dir), short, documents, soak_seconds))


# `load` stays as a hidden alias: the Makefile's `make load` and the README still call it.
@app.command("load", hidden=True)
@app.command("load-test", rich_help_panel=BENCHMARKS)
def load_test(
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    clients: Annotated[
        str, typer.Option(help="Concurrent clients of each run, comma-separated")
    ] = "1,8,32",
    requests: Annotated[
        int, typer.Option(help="Requests of each run (at least 4 per client)")
    ] = 200,
    soak_seconds: Annotated[
        float, typer.Option("--soak", help="Then the mix for this many seconds, reporting RSS")
    ] = 0.0,
    soak_clients: Annotated[int, typer.Option(help="Concurrent clients of the soak")] = 16,
    port: Annotated[
        int | None,
        typer.Option(help="Load the service already on 127.0.0.1:PORT instead of starting one"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="CLAIMSTANCE_LOAD_API_KEY", help="Key for --port")
    ] = None,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Load the service on loopback: errors, dropped requests and latency per client count.

    1, 8 and 32 clients of the mixed workload by default; ``--soak`` adds a timed run that
    reports memory.
    """
    from training.bench.load import Workload, example_articles, report

    settings = _load(config, overrides)
    try:
        levels = [int(level) for level in clients.split(",") if level.strip()]
        if not levels or min(levels) < 1 or requests < 1:
            raise ValueError("clients and requests must be positive numbers")
        workload = Workload.from_articles(example_articles(settings.data.examples_dir))
        model_dir = (
            None if port is not None else _resolve(model_uri, settings.tracking_uri).directory
        )
        for line in report(
            str(model_dir),
            workload,
            levels,
            requests,
            soak_seconds,
            soak_clients,
            port=port,
            api_key=api_key,
        ):
            typer.echo(line)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        _fail(str(error))


@app.command("bench-hostile", rich_help_panel=BENCHMARKS)
def bench_hostile(
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    json_path: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Also write the rows as JSON")
    ] = None,
    only: Annotated[
        str,
        typer.Option(
            help="Attacks whose names start with these words, comma-separated; all if empty"
        ),
    ] = "",
    stalled: Annotated[
        int, typer.Option(min=1, help="Sockets that stall their bodies at once")
    ] = 64,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """What each attack of issue 24 costs the service: time, answer size, RSS; held or not.

    Starts the service on loopback with the model, then sends each attack and prints one
    row per attack. Exit status 1 when a protection did not hold.
    """
    from training.bench.hostile import Row, Sizes, failed, run_bench

    settings = _load(config, overrides)
    # httpx logs every request at INFO: thousands of /health probes would bury the table.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Outside the try: _fail's Exit is a RuntimeError to click, and would be caught below.
    model_dir = _resolve(model_uri, settings.tracking_uri).directory
    words = [word.strip() for word in only.split(",") if word.strip()]
    try:
        typer.echo(Row.HEADER)
        rows = []
        for row in run_bench(str(model_dir), sizes=Sizes(stalled=stalled), only=words):
            typer.echo(row.line())
            rows.append(row)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        _fail(str(error))
    if not rows:
        _fail(f"no attack's name starts with {only!r}")
    if json_path is not None:
        _write_json(json_path, {"model": model_uri, "rows": [row.record() for row in rows]})
    if broken := failed(rows):
        typer.echo(
            f"{len(broken)} protection(s) did not hold: " + ", ".join(row.attack for row in broken),
            err=True,
        )
        raise typer.Exit(1)


@app.command("bench-grouping", rich_help_panel=BENCHMARKS)
def bench_grouping(
    encoder_dirs: Annotated[
        list[str] | None,
        typer.Option(
            "--encoder",
            help="Another encoder to compare, as NAME=DIRECTORY (repeatable); the packaged "
            "all-MiniLM-L6-v2 is always in. A directory with an int8 ONNX export (a model's "
            "encoder/ folder) runs on ONNX Runtime, as the service runs it; one whose forward "
            "pass returns token states also gets the blend row, aligned on its own states",
        ),
    ] = None,
    alignment: Annotated[
        bool,
        typer.Option(
            "--alignment/--no-alignment",
            help="Also score the token-alignment candidates (reads MiniLM's token states)",
        ),
    ] = True,
    per_story: Annotated[
        bool,
        typer.Option("--per-story", help="Print every candidate's scores on each held-out story"),
    ] = False,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """/compare's grouping cross-validated over hand-grouped stories (leave one story out)."""
    import torch

    from model.embeddings import SentenceEmbedder
    from training.bench.grouping import (
        CHECK,
        CLAIM,
        DEFAULT_CANDIDATE_NAME,
        INPUTS,
        TUNE,
        blend_candidate,
        candidates,
        choose_parameter,
        cross_validate,
        embed_stories,
        gold_stories,
        older_stories,
        paired_difference,
        score_story,
    )

    settings = _load(config, overrides)
    # The benchmark shares the machine with whatever else runs; one thread is enough.
    torch.set_num_threads(1)
    minilm = SentenceEmbedder.from_directory(device="cpu")
    loaded = {"minilm": minilm}
    for item in encoder_dirs or []:
        name, _, directory = item.partition("=")
        if not name or not directory:
            _fail(f"--encoder takes NAME=DIRECTORY, got {item!r}")
        if name in loaded:
            _fail(f"--encoder: the name {name!r} is taken")
        try:
            # threads=1: ONNX Runtime's own default is every core.
            loaded[name] = SentenceEmbedder.from_directory(directory, device="cpu", threads=1)
        except (FileNotFoundError, ValueError, OSError, ImportError) as error:
            _fail(f"--encoder {name}: {error}")
        typer.echo(f"encoder {name}: {loaded[name].backend.name} on {loaded[name].device}")
    encoders = {name: embedder.embed for name, embedder in loaded.items()}
    # The token states /compare reads (the same encoder call's second output), per encoder
    # that returns them (an export made before token states does not).
    tokens = {
        name: (lambda texts, embedder=embedder: embedder.embed_tokens(texts)[1])
        for name, embedder in loaded.items()
        if alignment and embedder.has_token_states
    }
    shared = settings.data.shared_dir
    gold = embed_stories(gold_stories(shared), encoders, tokens=tokens)
    rows = candidates(list(encoders), alignment=alignment, aligned=set(tokens))
    results = cross_validate(gold, rows)
    [default] = [row for row in results if row.candidate.name == DEFAULT_CANDIDATE_NAME]

    typer.echo(
        f"Leave-one-story-out over {len(gold)} gold stories: pairwise scores over cross-article "
        "pairs, mean over held-out stories, 95% story bootstrap interval of the F1; "
        "diff: paired F1 difference from the default (interval, stories better/worse)"
    )
    typer.echo(
        f"{'candidate':<62} {'F1':>5} {'[95% CI]':>14} {'diff':>6} {'[95% CI]':>16} "
        f"{'+/-':>5} {'P':>6} {'R':>6}  worst story     parameter"
    )
    for result in results:
        low, high = result.interval
        diff = paired_difference(result, default)
        chosen = sorted({row.parameter for row in result.held_out})
        kind = "spread" if result.candidate.adaptive else "threshold"
        typer.echo(
            f"{result.candidate.name:<62} {result.mean('f1'):5.3f} [{low:.3f}, {high:.3f}] "
            f"{diff.mean:+6.3f} [{diff.low:+.3f}, {diff.high:+.3f}] "
            f"{diff.better:>2}/{diff.worse:<2} "
            f"{result.mean('precision'):6.3f} {result.mean('recall'):6.3f}  "
            f"{result.worst.scores.f1:5.3f} {result.worst.story:<9} {kind} "
            + "/".join(f"{value:g}" for value in chosen)
        )

    folds = {story.story.name: story.story.fold for story in gold}
    for result in results if per_story else [default]:
        typer.echo(f"\n{result.candidate.name}, per held-out story:")
        for row in result.held_out:
            scores = row.scores
            typer.echo(
                f"  {row.story:<9} {folds[row.story]:<5} P {scores.precision:.3f} "
                f"R {scores.recall:.3f} F1 {scores.f1:.3f}  pairs {scores.correct_pairs}/"
                f"{scores.predicted_pairs}/{scores.gold_pairs} (correct/predicted/gold)  "
                f"at {row.parameter:g}"
            )

    tune = [story for story in gold if story.story.fold == TUNE]
    check = [story for story in gold if story.story.fold == CHECK]
    # With --per-story every candidate gets the tune-only check; else the default and the
    # blend on each encoder with token states (what the default could become), which need
    # the claims alone.
    blends = {blend_candidate(name).name for name in tokens}
    guarded = (
        results
        if per_story
        else [default] + [row for row in results if row.candidate.name in blends]
    )
    older_encoders = {
        name: embed
        for name, embed in encoders.items()
        if per_story or name == "minilm" or name in tokens
    }
    older = embed_stories(
        older_stories(shared),
        older_encoders,
        inputs=INPUTS if per_story else [CLAIM],
        tokens=tokens,
    )
    for result in guarded:
        candidate = result.candidate
        parameter = choose_parameter(tune, candidate)
        kind = "spread" if candidate.adaptive else "threshold"
        typer.echo(
            f"\n{candidate.name}: chosen on the {len(tune)} tune stories only: {kind} "
            f"{parameter:g}. On the {len(check)} check stories, never used to choose:"
        )
        for heading, stories in (("", check), ("Older groupings at that setting:", older)):
            if heading:
                typer.echo(heading)
            for story in stories:
                scores = score_story(story, candidate, parameter)
                typer.echo(
                    f"  {story.story.name:<14} P {scores.precision:.3f} R {scores.recall:.3f} "
                    f"F1 {scores.f1:.3f}"
                )


@app.command("fetch-base", rich_help_panel=TRAIN)
def fetch_base_model(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="Base model to fetch: all-mpnet-base-v2 (or mpnet)"),
    ],
) -> None:
    """Download a base model that the package index carries in pieces; print its directory."""
    from training.fit.basemodels import FetchError, fetch_base

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        directory = fetch_base(name)
    except FetchError as error:
        _fail(str(error))
    typer.echo(str(directory))


@app.command("soft-labels", rich_help_panel=TRAIN)
def soft_labels(
    teachers: Annotated[
        list[str] | None,
        typer.Option(
            "--teacher",
            "--model",
            metavar="URI",
            help="The teacher: a model directory or MLflow model URI. Give it more than once "
            "for an ensemble: the teachers' probabilities are averaged",
            show_default=ACCURATE_MODEL_URI,
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option(help="CSV to write (resumes if present)")] = None,
    backend: Annotated[
        BackendSetting,
        typer.Option(
            help="Backend the teacher runs on. torch: its own fp32 weights, so the student "
            "learns the teacher and not its int8 copy's rounding; onnx is about twice as fast"
        ),
    ] = "torch",
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Label the unlabelled news pool with the teacher's probabilities, once, for distillation."""
    from model.classifier import ClaimClassifier
    from training.corpus.build import build_corpus
    from training.corpus.pool import corpus_pool, pool_hash
    from training.fit.distill import ensemble_logits, write_soft_labels

    settings = _load(config, overrides)
    target = output or settings.training.soft_labels
    uris = teachers or [ACCURATE_MODEL_URI]
    resolved = [_resolve(uri, settings.tracking_uri) for uri in uris]
    sources = [model.provenance() for model in resolved]
    try:
        classifiers = [
            ClaimClassifier.from_directory(model.directory, batch_size=64, backend=backend)
            for model in resolved
        ]
        corpus = build_corpus(settings.data, seed=settings.seed)
        pool = corpus_pool(settings.data, corpus)

        def joined(values: Sequence[object]) -> str:
            # One teacher keeps the sidecar's earlier form; an ensemble lists each, in order.
            return " + ".join(str(value) for value in values)

        meta = {
            "teacher_uri": joined(uris),
            # Pinned: the run and version each alias names now, not the alias alone.
            "teacher_run_id": joined([source.get("model_run_id") for source in sources]),
            "teacher_version": joined([source.get("model_version") for source in sources]),
            "teacher_base_model": joined([c.card.base_model for c in classifiers]),
            "teacher_backend": joined([c.backend.name for c in classifiers]),
            "pool_hash": pool_hash(pool),
            "pool_size": len(pool),
            "data_hash": corpus.hash,
        }
        predict = (
            classifiers[0].logits
            if len(classifiers) == 1
            else ensemble_logits([c.logits for c in classifiers])
        )
        added = write_soft_labels(predict, pool, target, meta)
    except (DataError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    typer.echo(f"{added} sentences labelled; {len(pool)} in the pool ({target})")


@app.command("feedback-export", rich_help_panel=DATA)
def feedback_export(
    output: Annotated[Path, typer.Argument(metavar="OUTPUT", help="File to write: .csv or .jsonl")],
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            # As the service reads them: the URL wins over the file.
            envvar=["CLAIMSTANCE_FEEDBACK_URL", "CLAIMSTANCE_FEEDBACK_PATH"],
            help="The service's feedback store: its SQLite file or a SQLAlchemy URL "
            "(default: feedback.db here)",
        ),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from OUTPUT's suffix)")
    ] = None,
) -> None:
    """Write users' label corrections (POST /feedback) as a file make train DATA=... takes."""
    from model.feedback import (
        FeedbackStore,
        StoreUnavailableError,
        check_url,
        default_feedback_path,
        is_url,
    )
    from training.corpus.feedback_export import export_corrections

    location: str | Path = db or default_feedback_path()
    if is_url(location):
        try:
            check_url(str(location))
        except ValueError as error:
            _fail(f"--db {error}")
    else:
        location = Path(location)
    store = FeedbackStore(location)
    try:
        # Read-only: never creates an empty store where the user mistyped a path.
        if not store.exists():
            _fail(
                f"no feedback store at {store.where}: pass --db, or set "
                "CLAIMSTANCE_FEEDBACK_URL or CLAIMSTANCE_FEEDBACK_PATH as the service has them"
            )
        report = export_corrections(store, output, fmt)
    except (ValueError, OSError, StoreUnavailableError) as error:
        _fail(str(error))
    finally:
        store.close()
    superseded = (
        f"; {report.superseded} texts corrected again to another label: the latest kept"
        if report.superseded
        else ""
    )
    typer.echo(f"{report.written} corrections written to {output}{superseded}")
    typer.echo(f"review them, then: make train DATA={output}")


@app.command(rich_help_panel=USE)
def score(
    source: Annotated[
        Path, typer.Argument(metavar="SOURCE", help="Texts: .jsonl, .csv or .parquet")
    ],
    output: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT",
            help="Claims: a .jsonl or .csv file or a .parquet folder; a re-run skips the ids "
            "already there",
        ),
    ],
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    id_column: Annotated[str, typer.Option(help="Column holding each text's id")] = "id",
    text_column: Annotated[str, typer.Option(help="Column holding the text")] = "text",
    chunk_size: Annotated[
        int, typer.Option(min=1, help="Texts read, labelled and written at a time")
    ] = 1000,
    batch_size: Annotated[int, typer.Option(min=1, help="Claims per forward pass")] = 64,
    backend: Annotated[BackendSetting, typer.Option(help="Forward-pass backend")] = "auto",
    device: Annotated[DeviceSetting, typer.Option(help="Device")] = "auto",
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """Label every claim of a file of texts: one row per claim, written a chunk at a time."""
    from model.classifier import ClaimClassifier
    from training.batch.score import (
        ScoreError,
        check_input,
        count_rows,
        model_provenance,
        score_file,
    )

    settings = _load(config, overrides)
    try:
        # The input first: a wrong path, column or encoding fails before a model loads. The
        # count (the progress bar's total) reads a text file whole, checking every byte.
        check_input(source, id_column, text_column)
        total = count_rows(source)
    except ScoreError as error:
        _fail(str(error))
    resolved = _resolve(model_uri, settings.tracking_uri)
    try:
        # Pinned now: the alias may move while a long job runs or before it is resumed.
        provenance = model_provenance(model_uri, resolved.directory, resolved.provenance())
        classifier = ClaimClassifier.from_directory(
            resolved.directory, device=device, backend=backend, batch_size=batch_size
        )
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))
    try:
        report = score_file(
            classifier,
            source,
            output,
            id_column=id_column,
            text_column=text_column,
            chunk_size=chunk_size,
            model=provenance,
            total=total,
        )
    except ScoreError as error:
        _fail(str(error))
    typer.echo(
        f"{report.texts_scored} texts scored ({report.texts_skipped} already in {output}), "
        f"{report.claims} claims, {report.texts_per_second:.0f} texts/s"
    )
    typer.echo(f"scored by {_scored_by(provenance)}")


def _scored_by(provenance: dict[str, str]) -> str:
    parts = [provenance.get("model_name") or provenance["model_uri"]]
    if provenance.get("model_version"):
        parts.append(f"version {provenance['model_version']}")
    if provenance.get("model_run_id"):
        parts.append(f"run {provenance['model_run_id']}")
    return " ".join(parts)


@app.command("score-spark", rich_help_panel=USE)
def score_spark(
    source: Annotated[
        str,
        typer.Argument(metavar="SOURCE", help="Texts: .jsonl, .csv or .parquet (any Spark path)"),
    ],
    output: Annotated[
        str, typer.Argument(metavar="OUTPUT", help="Claims: a .parquet or .jsonl folder of parts")
    ],
    model_uri: ModelOption = DEFAULT_MODEL_URI,
    id_column: Annotated[str, typer.Option(help="Column holding each text's id")] = "id",
    text_column: Annotated[str, typer.Option(help="Column holding the text")] = "text",
    master: Annotated[str, typer.Option(help="Spark master")] = "local[*]",
    env_manager: Annotated[
        str, typer.Option(help="local, or virtualenv/uv to build the model's requirements")
    ] = "local",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output")] = False,
    config: ConfigOption = None,
    overrides: Overrides = None,
) -> None:
    """The same scoring on Spark: the logged MLflow model as a Spark UDF (needs the spark extra).

    On a cluster, hand training/batch/spark.py to spark-submit instead (docs/performance.md).
    """
    import importlib.util

    settings = _load(config, overrides)
    if importlib.util.find_spec("pyspark") is None:
        typer.echo("error: Spark scoring needs pyspark: pip install 'claimstance[spark]'", err=True)
        raise typer.Exit(2)
    from training.batch.spark import SparkScoreError, check_paths, score_with_spark, session

    try:
        check_paths(source, output)
    except SparkScoreError as error:
        _fail(str(error))
    spark = session(master)
    try:
        score_with_spark(
            spark,
            source,
            output,
            model_uri,
            id_column=id_column,
            text_column=text_column,
            env_manager=env_manager,
            mode="overwrite" if overwrite else "errorifexists",
            tracking_uri=settings.tracking_uri,
        )
    except SparkScoreError as error:
        _fail(str(error))
    except Exception as error:  # Spark's and MLflow's own errors: a missing path, an unknown model
        _fail(str(error).strip().splitlines()[0])
    finally:
        spark.stop()
    typer.echo(f"claims written to {output}")
