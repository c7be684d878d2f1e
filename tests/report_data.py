"""Test inputs for the report: the PartyNLI fixture plus the LiveNLI annotators replayed.

``replayed_humans`` mirrors the offline participant ``partynli/livenli-annotators``: at trial
*t* it answers each item as the item's *t*-th worker (workers sorted by id).  ``study_table``
adds a third participant, a temperature sweep and a size family derived from the fixture, so
that every figure (including Figures 9 and 10) has data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inspect_partynli.analysis import human_table
from inspect_partynli.annotation_schema import PARTYNLI_COLUMNS, conform
from inspect_partynli.datasets import HLVDataset


def fixture_table(fixture_csv: Path) -> pd.DataFrame:
    return conform(pd.read_csv(fixture_csv))


def replayed_humans(livenli: HLVDataset, trials: int = 5) -> pd.DataFrame:
    humans = human_table(livenli)
    humans = humans.assign(trial=humans.groupby("sent_id").cumcount() + 1)
    humans = humans[humans["trial"] <= trials]
    return humans.assign(
        participant="livenli-annotators", participant_type="model", experiment="model_mix_lo",
        id="livenli-annotators", model="partynli/livenli-annotators",
    )  # fmt: skip


def study_table(fixture_csv: Path, livenli: HLVDataset, items: int | None = None) -> pd.DataFrame:
    """Fixture + replayed humans + the fixture's answers on shifted items + a temperature
    sweep + a size family (PartyNLI columns)."""
    fixture = fixture_table(fixture_csv)
    sweep = fixture.assign(
        participant="ministral-sweep", experiment="hp_ablation",
        temperature=fixture["trial"] * 0.2, trial=1,
    )  # fmt: skip
    sizes = {1: 1.0, 2: 3.0, 3: 8.0, 4: 14.0, 5: 32.0}
    family = fixture.assign(
        participant="ministral-family", experiment="size_ablation",
        num_params=fixture["trial"].map(sizes), trial=1,
    )  # fmt: skip
    uids = sorted(fixture["sent_id"].unique())
    rotate = dict(zip(uids, uids[1:] + uids[:1], strict=True))
    shifted = fixture.assign(  # a third MODEL MIX participant: the fixture's answers moved
        participant="ministral-shifted", sent_id=fixture["sent_id"].map(rotate)
    )
    table = pd.concat(
        [fixture, replayed_humans(livenli), shifted, sweep, family], ignore_index=True
    )
    if items is not None:
        keep = sorted(table["sent_id"].unique())[:items]
        table = table[table["sent_id"].isin(keep)]
    return conform(table)[list(PARTYNLI_COLUMNS)]


def write_study_csv(path: Path, fixture_csv: Path, livenli: HLVDataset, **kwargs) -> Path:
    study_table(fixture_csv, livenli, **kwargs).to_csv(path, index=False)
    return path


class DeviceHashEncoder:
    """A deterministic stand-in model (bag of hashed words) that says where it ran."""

    name = "test/device-hash-encoder"

    def __init__(self) -> None:
        self.resolved_device: str | None = None  # set when it encodes, like a loaded model

    def encode(self, texts):
        self.resolved_device = "cpu"
        vectors = np.zeros((len(texts), 32), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in str(text).lower().split():
                vectors[row, sum(word.encode()) % 32] += 1.0
        return vectors + 0.01
