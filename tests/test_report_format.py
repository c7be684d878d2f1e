"""How the report writes numbers and names: no "-0.00", number columns aligned and unwrapped,
vector representations named by the model actually used."""

from __future__ import annotations

import math

import pandas as pd

from inspect_partynli.report.document import format_cell, is_number_column, markdown_table
from inspect_partynli.report.html import html_table
from inspect_partynli.report.parts import representation_label
from inspect_partynli.report.tables import mean_std, table2_display, table2_frame


def test_mean_std_never_shows_negative_zero():
    assert mean_std(-0.004, 0.231) == "0.00 (0.23)"
    assert mean_std(-0.0049) == "0.00"
    assert mean_std(-0.005) == "-0.01"  # rounds away from zero: a real negative stays
    assert mean_std(-0.12, 0.3) == "-0.12 (0.30)"
    assert mean_std(0.6449, -0.0) == "0.64 (0.00)"
    assert mean_std(math.nan, 0.1) == "–"
    assert format_cell(-0.001) == "0.00" and format_cell(-0.001, digits=4) == "-0.0010"


def test_table2_cor_near_zero_reads_zero():
    """The report's Table 2 showed "-0.00" for an MNLI Cor. of -0.0012."""
    rows = [
        {"setting": "human", "participant": "livenli", "reference": "livenli", "H": 0.64,
         "H_std": 0.23, "alpha": 0.26},
        {"setting": "single", "participant": "m", "reference": "mnli", "H": 0.57,
         "H_std": 0.25, "cor": -0.0012, "JS": 0.26, "JS_std": 0.17},
    ]  # fmt: skip
    shown = table2_display(
        table2_frame(rows, "livenli"), {"livenli": "LiveNLI", "mnli": "MNLI"}, "livenli"
    )
    assert shown.loc[1, "MNLI Cor. ↑"] == "0.00"
    assert shown.loc[1, "MNLI H"] == "0.57 (0.25)"
    assert shown.loc[0, "LiveNLI α"] == "0.26"
    assert "-0.00" not in shown.to_string()


def test_number_like_text_columns_are_right_aligned_and_unwrapped():
    frame = pd.DataFrame(
        {
            "Experiment": ["Human", "MODEL MIX all"],
            "H": ["0.64 (0.23)", "-0.12 (0.30)"],
            "p": ["–", "1.7e-87"],
            "items": ["1,405", "122"],
            "empty": ["–", "–"],
            "shares": ["0.10/0.70/0.20", "1.00/0.00/0.00"],
            "n": [3, 4],
        }
    )
    assert [is_number_column(frame[c]) for c in frame.columns] == [
        False, True, True, True, False, True, True,
    ]  # fmt: skip
    page = html_table(frame)
    assert '<td class="num">0.64 (0.23)</td>' in page
    assert '<td class="num">1.7e-87</td>' in page
    assert "<td>MODEL MIX all</td>" in page
    header, align = markdown_table(frame).splitlines()[:2]
    assert align == "| :--- | ---: | ---: | ---: | :--- | ---: | ---: |"
    assert '<td class="num">0.10/0.70/0.20</td>' in page


def test_representation_labels_name_the_model_used():
    assert representation_label("e5", "sentence-transformers/all-MiniLM-L6-v2") == (
        "semantic (all-MiniLM-L6-v2)"
    )
    assert representation_label("e5", "intfloat/multilingual-e5-large-instruct") == (
        "semantic (multilingual-e5-large-instruct)"
    )
    assert representation_label("style", "StyleDistance/styledistance") == ("style (styledistance)")
    assert representation_label("tfidf", "tfidf/delex-3gram") == "TF-IDF"
    assert representation_label("lexical", "words/delex-3gram") == "lexical"
    assert representation_label("e5", None) == "semantic"
