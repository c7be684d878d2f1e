"""The annotation-table schema: column order, dtypes, and derived ``parsed`` flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inspect_partynli.annotation_schema import ANNOTATION_COLUMNS, conform, empty_annotation_table


def frame(**columns) -> pd.DataFrame:
    base = {
        "sent_id": ["a", "b", "c", "d"],
        "participant": "m",
        "trial": ["1", 2, 3.0, 4],
        "class_simple": ["true", "error", "either", "false"],
    }
    return pd.DataFrame({**base, **columns})


def test_every_column_in_schema_order_with_extras_after():
    table = conform(frame(tsne_1=[0.1, 0.2, 0.3, 0.4]))
    assert list(table.columns) == [*ANNOTATION_COLUMNS, "tsne_1"]
    assert table["trial"].tolist() == [1, 2, 3, 4]
    assert table["num_params"].isna().all() and table["explanation"].eq("").all()
    assert list(empty_annotation_table().columns) == list(ANNOTATION_COLUMNS)


def test_parsed_is_derived_from_the_label_when_absent_or_blank():
    assert conform(frame())["parsed"].tolist() == [True, False, True, True]
    blanks = frame(parsed=[np.nan, "", "False", "1"])
    # blank cells follow the label; written values are read, whatever their spelling
    assert conform(blanks)["parsed"].tolist() == [True, False, False, True]


def test_required_columns_are_named():
    with pytest.raises(ValueError, match="missing column\\(s\\) trial, class_simple"):
        conform(pd.DataFrame({"sent_id": ["a"], "participant": ["m"]}))


def test_parsed_cells_of_any_type_are_read_once_per_distinct_value():
    mixed = frame(parsed=[True, "no", None, 0.0])
    assert conform(mixed)["parsed"].tolist() == [True, False, True, False]
    unreadable = frame(parsed=["maybe", "maybe", "YES ", "maybe"])  # unreadable -> the label
    assert conform(unreadable)["parsed"].tolist() == [True, False, True, True]


def test_text_columns_are_arrow_backed_strings_with_blanks_for_missing_cells():
    table = conform(frame(sent_id=[1, 2.5, None, "d"], model=["x", np.nan, "y", "z"]))
    assert table["sent_id"].tolist() == ["1", "2.5", "", "d"]
    assert table["model"].tolist() == ["x", "", "y", "z"]
    assert all(isinstance(table[c].dtype, pd.StringDtype) for c in ("sent_id", "model", "id"))


def test_categorical_text_stays_categorical_with_text_categories():
    labels = pd.Categorical([" true", "error", None, "false"])
    table = conform(frame(class_simple=labels, participant=pd.Categorical(["m", "m", "n", 3])))
    assert isinstance(table["participant"].dtype, pd.CategoricalDtype)
    assert table["participant"].tolist() == ["m", "m", "n", "3"]
    assert table["class_simple"].tolist() == [" true", "error", "", "false"]
    assert table["parsed"].tolist() == [True, False, True, True]


def test_a_conformed_table_passes_through_without_copying_its_columns():
    once = conform(frame())
    twice = conform(once)
    pd.testing.assert_frame_equal(once, twice)
    assert np.shares_memory(once["trial"].to_numpy(), twice["trial"].to_numpy())


def test_columns_keeps_the_key_columns_and_those_asked_for_in_schema_order():
    table = conform(frame(tsne_1=[0.0] * 4, explanation="why"), columns=["temperature"])
    assert list(table.columns) == [
        "sent_id", "participant", "participant_type", "trial", "class_simple",
        "temperature", "parsed",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not annotation-table columns: tsne_1"):
        conform(frame(), columns=["tsne_1"])
