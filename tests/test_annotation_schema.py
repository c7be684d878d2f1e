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
