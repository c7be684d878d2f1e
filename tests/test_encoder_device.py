"""Where the sentence encoders run (``--device``), with torch's device availability mocked:
this machine has no GPU, so CUDA and MPS are simulated, and no model is loaded."""

from __future__ import annotations

import pytest
import torch

from inspect_partynli.cli import main
from inspect_partynli.errors import UsageError
from inspect_partynli.explanations import encoders
from inspect_partynli.explanations.encoders import (
    BATCH_SIZES,
    CachedEncoder,
    SentenceTransformerEncoder,
    choose_device,
    device_of,
)


@pytest.fixture
def devices(monkeypatch):
    """Set what torch sees: ``devices("cuda")``, ``devices("mps")``, ``devices()`` (CPU)."""

    def see(*names: str) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: "cuda" in names)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: "mps" in names)

    return see


@pytest.mark.parametrize(
    ("seen", "chosen"),
    [(("cuda", "mps"), "cuda"), (("cuda",), "cuda"), (("mps",), "mps"), ((), "cpu")],
)
def test_auto_takes_cuda_then_mps_then_the_cpu(devices, seen, chosen):
    devices(*seen)
    assert choose_device("auto") == chosen
    assert choose_device("cpu") == "cpu"  # asked for: the CPU, whatever else is there


def test_an_accelerator_torch_does_not_see_is_a_usage_error(devices):
    devices("mps")
    assert choose_device("mps") == "mps"
    with pytest.raises(UsageError, match="torch sees no CUDA device"):
        choose_device("cuda")
    with pytest.raises(UsageError, match="unknown device 'tpu'"):
        choose_device("tpu")


def test_auto_loads_the_model_on_the_chosen_device_logs_it_and_sizes_batches(
    devices, monkeypatch
):
    devices("cuda")
    loaded, notes = [], []
    monkeypatch.setattr(encoders, "_load_model", lambda *args: loaded.append(args) or object())
    encoder = SentenceTransformerEncoder("m", "/models/m", device="auto", notify=notes.append)
    assert (device_of(encoder), encoder.batch_size) == ("cached", BATCH_SIZES["cpu"])
    encoder.model  # noqa: B018 - loads it
    assert loaded == [("/models/m", "cuda", True)]
    assert notes == ["encoder m runs on cuda (--device auto)"]
    assert (device_of(encoder), encoder.batch_size) == ("cuda", BATCH_SIZES["cuda"])
    assert device_of(CachedEncoder(encoder, None, progress=False)) == "cuda"


def test_the_cpu_path_is_unchanged(devices, monkeypatch):
    devices("cuda")
    loaded, notes = [], []
    monkeypatch.setattr(encoders, "_load_model", lambda *args: loaded.append(args) or object())
    encoder = SentenceTransformerEncoder("m", "/models/m", notify=notes.append)  # default: cpu
    encoder.model  # noqa: B018
    assert loaded == [("/models/m", "cpu", True)] and notes == []
    assert encoder.batch_size == 32
    assert SentenceTransformerEncoder("m", batch_size=7).batch_size == 7


def test_encoders_without_a_device_are_named_as_such():
    class Plain:
        name = "plain"

    assert device_of(Plain()) == "-"


@pytest.mark.parametrize("command", ["explanations", "report"])
def test_the_commands_refuse_an_unseen_accelerator_in_one_line(
    command, devices, fixture_csv, tmp_path, capsys
):
    devices()
    argv = [command, str(fixture_csv), "--device", "cuda"]
    argv += ["-o", str(tmp_path / "out")] if command == "report" else []
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"partynli {command}: error: --device cuda: torch sees no CUDA device here"
