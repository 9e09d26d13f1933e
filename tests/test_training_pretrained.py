"""``make model``: trains, registers and publishes once, then finds the model present."""

from __future__ import annotations

from dataclasses import replace

import mlflow
import numpy as np
import pytest
from tests.support.toy import write_toy_dataset

from landcover.inference.loading import load_published_model, published_model_location
from landcover.inference.predict import predict_tile
from landcover.training import pretrained
from landcover.training.io import labelled_records, read_image
from landcover.training.tracking import CHAMPION_ALIAS, MODEL_NAME


@pytest.fixture
def toy_synthetic(tmp_path, monkeypatch):
    root = write_toy_dataset(tmp_path / "synthetic", grid=(3, 3), size=48)
    (root / pretrained.SYNTHETIC_MARKER).write_text("{}")
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    small = replace(pretrained.with_epochs(pretrained.PRETRAINED_CONFIG, 2), tiles_size=48, augment_size=96,
                    crop_size=32, batch_size=8, repeats=1)
    monkeypatch.setattr(pretrained, "PRETRAINED_CONFIG", small)
    yield root
    mlflow.set_tracking_uri(previous)


@pytest.mark.slow
def test_pretrained_model_is_trained_once_then_reported_present(toy_synthetic, capsys):
    root = str(toy_synthetic)
    assert pretrained.pretrained_model_status(root)[0] is False
    assert pretrained.main(["--data-root", root, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "mIoU" in out and "registered: models:/segmentation-sentinel2-model/1" in out
    client = mlflow.MlflowClient()

    published = published_model_location(root)
    assert (toy_synthetic / "mlflow-artifacts" / published.experiment_id / published.run_id / "artifacts"
            / "model" / "MLmodel").is_file()
    assert pretrained.pretrained_model_status(root)[0] is True
    assert pretrained.main(["--data-root", root]) == 0
    assert capsys.readouterr().out.startswith("pre-trained model present")

    # the registry and the published copy are the same model, and the alias champion names it
    registered = mlflow.pyfunc.load_model("models:/segmentation-sentinel2-model/1")
    assert registered.metadata.run_id == published.run_id
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS).version) == "1"
    assert mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}").metadata.run_id == published.run_id
    model, params = load_published_model(published)
    image = read_image(labelled_records(root)[0].image)
    np.testing.assert_array_equal(predict_tile(model, image, params), predict_tile(registered, image, params))

    # a registry made before the alias existed gets it from the status check, without retraining
    client.delete_registered_model_alias(MODEL_NAME, CHAMPION_ALIAS)
    present, reason = pretrained.pretrained_model_status(root)
    assert present and f"alias {CHAMPION_ALIAS} set to version 1" in reason
    assert client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS).run_id == published.run_id
    assert published_model_location(root).run_id == published.run_id

    assert pretrained.main(["--data-root", root, "--force", "--quiet", "--epochs", "1"]) == 0
    retrained = published_model_location(root).run_id
    assert retrained != published.run_id  # retrained and republished
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS)
    assert (str(champion.version), champion.run_id) == ("2", retrained)  # the alias follows the new pre-trained model


def test_pretrained_model_refuses_incomplete_synthetic_data(tmp_path):
    with pytest.raises(SystemExit, match="make data"):
        pretrained.main(["--data-root", str(tmp_path)])


@pytest.mark.parametrize(("epochs", "validate_from"), [(10, 9), (4, 3), (2, 1), (1, 1)])
def test_a_shorter_pre_trained_run_still_validates_its_own_last_epochs(epochs, validate_from):
    config = pretrained.with_epochs(pretrained.PRETRAINED_CONFIG, epochs)
    assert (config.epochs, config.validate_from) == (epochs, validate_from)
    config.check()
