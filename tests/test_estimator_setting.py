"""The ``estimator`` setting kind and MODEL MIX ``all``: one rule each, in the analysis, shared
by ``partynli metrics`` and the report (hand-computed values on a built table)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from inspect_partynli import analysis as an

#: The label order of every distribution written below.
LABELS = ("true", "either", "false")
HUMAN = pd.DataFrame([[2, 1, 1], [0, 0, 4]], index=["i1", "i2"], columns=list(LABELS))


def _row(participant, item, trial, label, experiment="single", **extra) -> dict:
    return {"participant": participant, "sent_id": item, "trial": trial, "class_simple": label,
            "experiment": experiment, **extra}  # fmt: skip


def _estimate(participant, item, trial, p, estimator, parsed=True) -> dict:
    label = LABELS[int(np.argmax(p))] if parsed else "error"
    probabilities = dict(zip((f"p_{x}" for x in LABELS), p if parsed else (None,) * 3,
                             strict=True))  # fmt: skip
    return _row(participant, item, trial, label, estimator, estimator=estimator, parsed=parsed,
                other_mass=0.0 if estimator == "logprobs" else None,
                raw_sum=100.0 if estimator == "verbalized" else None, **probabilities)  # fmt: skip


def built_table() -> pd.DataFrame:
    """m: sampling (2 trials), logprobs (2 epochs), verbalized (1 epoch, i2 unread); n: a plain
    participant; s: a temperature sweep; f: a size family."""
    rows = [
        _row("m", "i1", 1, "true"), _row("m", "i1", 2, "true"),
        _row("m", "i2", 1, "false"), _row("m", "i2", 2, "either"),
        _row("n", "i1", 1, "either"), _row("n", "i2", 1, "false"),
        _row("s", "i1", 1, "true", "temperature_sweep", temperature=0.2),
        _row("s", "i1", 1, "false", "temperature_sweep", temperature=0.4),
        _row("f", "i1", 1, "true", "size_ablation", num_params=1.0),
        _row("f", "i1", 1, "either", "size_ablation", num_params=8.0),
        _estimate("m", "i1", 1, (0.5, 0.25, 0.25), "logprobs"),
        _estimate("m", "i1", 2, (0.5, 0.25, 0.25), "logprobs"),
        _estimate("m", "i2", 1, (0.0, 0.0, 1.0), "logprobs"),
        _estimate("m", "i2", 2, (0.0, 0.2, 0.8), "logprobs"),
        _estimate("m", "i1", 1, (1 / 3, 1 / 3, 1 / 3), "verbalized"),
        _estimate("m", "i2", 1, None, "verbalized", parsed=False),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def js(p, q) -> float:
    """Jensen-Shannon distance, natural log, written out."""
    p, q = np.asarray(p, float) / np.sum(p), np.asarray(q, float) / np.sum(q)
    m = (p + q) / 2

    def kl(a, b):
        return sum(x * math.log(x / y) for x, y in zip(a, b, strict=True) if x > 0)

    return math.sqrt((kl(p, m) + kl(q, m)) / 2)


@pytest.fixture(scope="module")
def coded():
    return an.prepare(built_table(), LABELS)


@pytest.fixture(scope="module")
def human():
    return an.Reference.from_counts(HUMAN, "people")


def test_estimator_runs_are_units_of_their_own(coded):
    units = coded.units.set_index("unit")
    assert units.loc["m (estimator=logprobs)", "estimator"] == "logprobs"
    assert units.loc["m (estimator=verbalized)", "estimator"] == "verbalized"
    assert units.loc["m", "estimator"] == "sampling"
    # a participant name stands for its sampling runs only
    by_participant = coded.lookup()[1]
    assert [coded.units.at[u, "unit"] for u in by_participant["m"]] == ["m"]


def test_estimator_runs_keep_apart_under_one_experiment_name():
    """`load_annotations(experiment=NAME)` gives every run one experiment: a model's logprobs
    rows still never merge into its sampling unit (which would double its trials)."""
    table = built_table().assign(experiment="mine")
    coded = an.prepare(table[table["participant"] == "m"], LABELS)
    assert sorted(coded.units["unit"]) == [
        "m", "m (estimator=logprobs)", "m (estimator=verbalized)",
    ]  # fmt: skip
    assert list(coded.units.set_index("unit").loc[
        ["m", "m (estimator=logprobs)", "m (estimator=verbalized)"], "n_trials"]) == [2, 2, 1]


def test_model_mix_all_leaves_out_sizes_sweeps_and_estimator_runs(coded):
    assert an.model_mix_units(coded) == ["m", "n"]
    settings = an.default_settings(coded)
    mix = [s for s in settings if s.kind == "mix"]
    assert [(s.name, s.participants) for s in mix] == [("all", ("m", "n"))]
    singles = [s.name for s in settings if s.kind == "single"]
    assert "m (estimator=logprobs)" not in singles and "m" in singles
    (random_all,) = an.settings_of_kind(coded, "random_mix", k=1)
    assert random_all.participants == ("m", "n")
    # declared groups resolve a participant to its sampling run
    (group,) = an.settings_of_kind(coded, "mix", {"g": ["m", "n"]})
    assert sorted(coded.units["unit"][an.kinds.resolve_units(coded, group.participants, "g")]) == [
        "m", "n",
    ]  # fmt: skip


def test_model_mix_all_of_sweeps_only_is_every_unit():
    table = built_table()
    coded = an.prepare(table[table["participant"] == "s"], LABELS)
    assert an.model_mix_units(coded) == list(coded.units["unit"])


def test_estimator_settings_group_one_models_estimators(coded):
    settings = an.settings_of_kind(coded, "estimator")
    assert [(s.name, s.options["estimator"], s.participants) for s in settings] == [
        ("m", "sampling", ("m",)),
        ("m", "logprobs", ("m (estimator=logprobs)",)),
        ("m", "verbalized", ("m (estimator=verbalized)",)),
    ]
    assert settings == [s for s in an.default_settings(coded) if s.kind == "estimator"]
    plain = an.prepare(built_table().query("participant == 'n'"), LABELS)
    with pytest.raises(Exception, match="nothing to evaluate as --setting estimator"):
        an.settings_of_kind(plain, "estimator")


def test_estimator_rows_against_hand_computed_values(coded, human):
    settings = an.settings_of_kind(coded, "estimator")
    sampling, logprobs, verbalized = an.evaluate_many(coded, settings, human)
    # sampling: exactly the SINGLE row of its unit
    (single,) = an.evaluate_many(coded, [an.Setting("m", "single",
                                                    ("m",))], human)
    for key in ("n_items", "n_trials", "H", "JS", "KL_pq", "KL_qp", "agree", "cor"):
        assert sampling[key] == pytest.approx(single[key], nan_ok=True), key
    expected = (js([1, 0, 0], [2, 1, 1]) + js([0, 1, 1], [0, 0, 4])) / 2
    assert sampling["JS"] == pytest.approx(expected)
    # logprobs: the mean over 2 epochs -- i1 (.5,.25,.25) = the humans, i2 (0,.1,.9)
    assert (logprobs["estimator"], logprobs["n_trials"], logprobs["n_items"]) == ("logprobs", 2, 2)
    assert logprobs["JS"] == pytest.approx(js([0, 0.1, 0.9], [0, 0, 4]) / 2)
    assert logprobs["agree"] == 1.0
    h2 = -(0.1 * math.log(0.1) + 0.9 * math.log(0.9))
    h1 = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert logprobs["H"] == pytest.approx((h1 + h2) / 2)
    # spread: per item the mean over labels of the std across epochs (ddof 1): i1 0, i2 2/3*0.1414
    assert logprobs["spread"] == pytest.approx((0 + 2 * math.sqrt(0.02) / 3) / 2)
    assert logprobs["other_mass"] == 0.0 and math.isnan(logprobs["alpha"])
    assert logprobs["reference"] == "people" and math.isnan(logprobs["JS_ci_low"])
    # verbalized: 1 epoch, i2 unread -> one item, half the replies parsed
    assert (verbalized["n_items"], verbalized["parse_rate"], verbalized["raw_sum"]) == (1, 0.5, 100)
    assert verbalized["JS"] == pytest.approx(js([1, 1, 1], [2, 1, 1]))
    assert math.isnan(verbalized["spread"])  # one epoch
