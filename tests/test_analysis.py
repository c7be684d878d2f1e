"""The analysis package: settings and their evaluation, the paper's numbers, hand-computed
mixes, edge cases (LiveNLI as a dataset)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from inspect_partynli import metrics as M
from inspect_partynli.analysis import (
    METRIC_KEYS,
    Conventions,
    Setting,
    default_settings,
    evaluate,
    evaluate_many,
    group_settings,
    human_rows,
    human_table,
    item_table,
    parse_group,
    prepare,
    random_mix,
    reference,
    settings_of_kind,
    size_settings,
    sweep_settings,
)
from inspect_partynli.annotation_schema import conform
from inspect_partynli.errors import SourceError, UsageError

LN2 = math.log(2)
#: Two real LiveNLI items: X (humans: either 4, false 6), Y (humans: true 10).
X, Y = "78105n", "126837e"


def _table(rows, **extra) -> pd.DataFrame:
    """Rows ``(participant, trial, item, label)`` as an annotation table."""
    frame = pd.DataFrame(rows, columns=["participant", "trial", "sent_id", "class_simple"])
    for column, value in extra.items():
        frame[column] = value
    return conform(frame)


def _paper(value: float, digits: int = 2) -> float:
    return round(value, digits)


@pytest.fixture(scope="module")
def livenli(livenli_dataset):
    """LiveNLI as a dataset (the analysis takes the dataset interface, not its frame)."""
    return livenli_dataset


@pytest.fixture(scope="module")
def ministral(fixture_csv) -> pd.DataFrame:
    # until every test can use annotations.load_annotations, read the fixture directly
    return conform(pd.read_csv(fixture_csv))


# ---------------------------------------------------------------------------- the paper
def test_table5_ministral_8b_row(ministral, livenli):
    (setting,) = default_settings(ministral)
    assert setting == Setting("ministral-8b", "single", ("ministral-8b",))
    row = evaluate(ministral, setting, reference(livenli, "livenli", "all"))
    assert list(row)[: len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert (row["n_items"], row["n_trials"]) == (122, 5)
    assert _paper(row["H"]) == 0.09
    assert _paper(row["JS"]) == 0.46
    assert _paper(row["KL_pq"]) == 10.15
    assert _paper(row["KL_qp"]) == 1.28
    assert _paper(row["agree"]) == 0.55
    assert _paper(row["alpha"]) == 0.50
    assert row["parse_rate"] == 1.0
    assert row["H_ci_low"] < row["H"] < row["H_ci_high"]
    assert (row["reference"], row["subset"]) == ("livenli", "all")


def test_human_rows_over_the_50_overlap_items(livenli):
    rows = {row["population"]: row for row in human_rows(livenli, "chaosnli")}
    assert [rows[p]["n_items"] for p in ("livenli", "chaosnli", "mnli")] == [50, 50, 50]
    assert (_paper(rows["livenli"]["H"]), _paper(rows["livenli"]["H_std"])) == (0.64, 0.23)
    assert (_paper(rows["chaosnli"]["H"]), _paper(rows["chaosnli"]["H_std"])) == (0.72, 0.13)
    assert (_paper(rows["mnli"]["H"]), _paper(rows["mnli"]["H_std"])) == (0.72, 0.10)
    assert rows["chaosnli"]["alpha"] is None and rows["mnli"]["alpha"] is None
    # alpha over the 48 workers x these 50 items rounds to Table 2's 0.26 as well
    assert _paper(rows["livenli"]["alpha"]) == 0.26


def test_human_rows_over_all_122_items(livenli):
    row = human_rows(livenli, "all")[0]
    assert (row["population"], row["n_items"]) == ("livenli", 122)
    assert _paper(row["H"]) == 0.71  # Table 5, Human Participants
    assert _paper(row["alpha"]) == 0.26  # 48 workers x 122 items


def test_livenli_workers_as_a_mix_give_the_human_row(livenli):
    humans = human_table(livenli)
    workers = tuple(sorted(humans["participant"].unique()))
    assert len(workers) == 48
    row = evaluate(humans, Setting("human", "mix", workers), reference(livenli, "livenli", "all"))
    assert _paper(row["H"]) == 0.71 and _paper(row["alpha"]) == 0.26
    assert row["JS"] == pytest.approx(0.0) and row["agree"] == 1.0 and row["cor"] == 1.0


TABLE4_HUMAN = {  # the paper's Table 4, human N / C / E
    "78105n": (0.4, 0.6, 0.0), "80517e": (0.6, 0.0, 0.4), "61285n": (0.8, 0.0, 0.2),
    "73518e": (0.6, 0.3, 0.1), "49807n": (0.9, 0.0, 0.1), "126837e": (0.0, 0.0, 1.0),
    "140704e": (0.6, 0.3, 0.1), "76016c": (0.3, 0.7, 0.0), "20274n": (0.8, 0.2, 0.0),
    "101940n": (0.6, 0.0, 0.4), "26460n": (0.3, 0.0, 0.7), "108083c": (0.5, 0.0, 0.5),
}  # fmt: skip


def test_table4_human_columns(ministral, livenli):
    """All 12 items of Table 4 have 10 LiveNLI workers; their shares match exactly."""
    table = item_table(ministral, default_settings(ministral)[0], reference(livenli))
    for uid, (neutral, contradiction, entailment) in TABLE4_HUMAN.items():
        shares = table.loc[uid, ["human_either", "human_false", "human_true"]].tolist()
        assert shares == pytest.approx([neutral, contradiction, entailment], abs=1e-12), uid


def test_item_table_of_the_fixture(ministral, livenli):
    table = item_table(ministral, default_settings(ministral)[0], reference(livenli))
    assert len(table) == 122 and table.index.name == "sent_id"
    assert table["H"].mean() == pytest.approx(evaluate(ministral, default_settings(ministral)[0],
                                                       reference(livenli))["H"])  # fmt: skip
    assert table["n_answers"].sum() == 609
    assert set(table["majority"]) <= {"either", "false", "true"}
    np.testing.assert_allclose(table[["either", "false", "true"]].sum(axis=1), 1.0)


def test_chaosnli_and_mnli_references(ministral, livenli):
    setting = default_settings(ministral)[0]
    chaos = evaluate(ministral, setting, reference(livenli, "chaosnli", "all"))
    mnli = evaluate(ministral, setting, reference(livenli, "mnli", "chaosnli"))
    live = evaluate(ministral, setting, reference(livenli, "livenli", "chaosnli"))
    assert chaos["n_items"] == mnli["n_items"] == live["n_items"] == 50
    assert chaos["H"] == mnli["H"] == live["H"]  # the setting's entropy is reference-free
    assert chaos["JS"] != live["JS"]


# ---------------------------------------------------------------------------- hand-computed
@pytest.fixture
def two_members() -> pd.DataFrame:
    """A: 3 trials, B: 2 trials (a group member with fewer trials)."""
    return _table(
        [
            ("A", 1, X, "either"), ("A", 2, X, "either"), ("A", 3, X, "false"),
            ("A", 1, Y, "true"), ("A", 2, Y, "true"), ("A", 3, Y, "true"),
            ("B", 1, X, "false"), ("B", 2, X, "false"),
            ("B", 1, Y, "true"), ("B", 2, Y, "either"),
        ]
    )  # fmt: skip


def test_mix_with_a_member_with_fewer_trials(two_members, livenli):
    row = evaluate(two_members, Setting("ab", "mix", ("A", "B")), reference(livenli))
    # trial 1: X {either, false}, Y {true, true}; trial 2: X {either, false}, Y {true, either};
    # trial 3: only A: X {false}, Y {true}
    assert (row["n_items"], row["n_trials"]) == (2, 3)
    assert row["H"] == pytest.approx((LN2 / 2 + LN2 + 0) / 3)
    assert row["H_std"] == pytest.approx((LN2 / math.sqrt(2) + 0 + 0) / 3)
    # humans: X false, Y true; majorities (ties to the first label): trial 1 either/true,
    # trial 2 either/either, trial 3 false/true
    assert row["agree"] == pytest.approx((0.5 + 0 + 1) / 3)
    # alpha: trial 1 = 1 - 3*2/10 = 0.4, trial 2 = 1 - 3*4/10 = -0.2, trial 3 undefined
    assert row["alpha"] == pytest.approx(0.1)
    # A: X 2 labels, Y 1; B: X 1, Y 2 -> 1.5 each
    assert row["consistency"] == pytest.approx(1.5)
    assert row["parse_rate"] == 1.0
    human = np.array([[4, 6, 0], [0, 0, 10]], dtype=float)
    trials = [np.array([[1, 1, 0], [0, 0, 2]]), np.array([[1, 1, 0], [1, 0, 1]]),
              np.array([[0, 1, 0], [0, 0, 1]])]  # fmt: skip
    assert row["JS"] == pytest.approx(np.mean([M.js_distance(t, human).mean() for t in trials]))
    assert row["KL_pq"] == pytest.approx(
        np.mean([M.kl_divergence(human, t).mean() for t in trials])
    )


def test_single_of_each_member(two_members, livenli):
    rows = evaluate_many(two_members, default_settings(two_members), reference(livenli))
    a, b, mix = rows
    assert [r["participant"] for r in rows] == ["A", "B", "all"]
    assert (a["n_trials"], b["n_trials"], mix["n_trials"]) == (3, 2, 3)
    # A: X (either 2, false 1), Y (true 3)
    h_x = M.entropy([[2, 1, 0]])[0]
    assert a["H"] == pytest.approx(h_x / 2)
    assert a["agree"] == pytest.approx(0.5)  # X: either vs human false; Y: true = true
    # alpha over A's 3 trials: X e2 f1, Y t3: n = 6, o_same = 2*1/2 + 3*2/2 = 4,
    # n_c = (2, 1, 3): 1 - 5 * 2 / (36 - 14) = 1 - 10/22
    assert a["alpha"] == pytest.approx(1 - 10 / 22)
    assert mix == evaluate(two_members, Setting("all", "mix", ("A", "B")), reference(livenli))


def test_all_annotators_agree(livenli):
    same_per_item = _table([("A", t, X, "false") for t in (1, 2, 3)]
                           + [("A", t, Y, "true") for t in (1, 2, 3)])  # fmt: skip
    row = evaluate(same_per_item, Setting("A", "single", ("A",)), reference(livenli))
    assert row["H"] == 0.0 and row["H_std"] == 0.0
    assert row["alpha"] == 1.0  # perfect agreement, different labels across items
    assert row["consistency"] == 1.0 and row["agree"] == 1.0
    assert row["JS"] == pytest.approx(M.js_distance([[0, 1, 0], [0, 0, 1]],
                                                     [[4, 6, 0], [0, 0, 10]]).mean())  # fmt: skip
    one_label = _table([("A", t, item, "true") for t in (1, 2) for item in (X, Y)])
    row = evaluate(one_label, Setting("A", "single", ("A",)), reference(livenli))
    assert row["H"] == 0.0
    assert math.isnan(row["alpha"])  # a single value everywhere: alpha is undefined (0/0)


def test_single_annotator(livenli):
    table = _table([("A", 1, X, "either"), ("A", 1, Y, "true")])
    row = evaluate(table, Setting("A", "single", ("A",)), reference(livenli))
    assert (row["n_items"], row["n_trials"]) == (2, 1)
    assert row["H"] == 0.0 and row["consistency"] == 1.0
    assert row["agree"] == 0.5  # X: either vs human false
    assert math.isnan(row["alpha"])  # nothing pairable
    assert math.isnan(row["cor"])  # a constant entropy has no rank correlation


def test_item_missing_for_one_trial(livenli):
    table = _table([("A", 1, X, "either"), ("A", 2, X, "false"), ("A", 1, Y, "true")])
    row = evaluate(table, Setting("A", "single", ("A",)), reference(livenli))
    assert row["n_items"] == 2
    assert row["H"] == pytest.approx(LN2 / 2)  # Y from its one answer
    # alpha: only X is pairable: e1 f1 -> n = 2, o_same = 0 -> 1 - 1 * 2 / (4 - 2) = 0
    assert row["alpha"] == pytest.approx(0.0)


def test_item_missing_for_one_participant_in_a_mix(livenli):
    table = _table([("A", 1, X, "either"), ("A", 1, Y, "true"), ("B", 1, X, "false")])
    frame = item_table(table, Setting("ab", "mix", ("A", "B")), reference(livenli))
    assert frame.loc[X, "H"] == pytest.approx(LN2)
    assert frame.loc[Y, "H"] == 0.0 and frame.loc[Y, "n_answers"] == 1
    assert frame.loc[Y, "true"] == 1.0
    assert frame.loc[X, ["either", "false", "true"]].tolist() == [0.5, 0.5, 0.0]
    assert frame.loc[X, "majority"] == "either"  # tie goes to the first label
    assert frame.loc[X, "human_majority"] == "false"
    assert len(frame) == 122 and frame["n_answers"].sum() == 3


def test_all_parses_failed(livenli):
    table = _table([("C", t, item, "error") for t in (1, 2) for item in (X, Y)])
    row = evaluate(table, Setting("C", "single", ("C",)), reference(livenli))
    assert (row["n_items"], row["n_trials"], row["parse_rate"]) == (0, 2, 0.0)
    for key in ("H", "JS", "KL_pq", "KL_qp", "agree", "alpha", "cor", "consistency"):
        assert math.isnan(row[key]), key


def test_parse_failures_left_out_of_distributions_but_counted_for_alpha(livenli):
    table = _table([("A", 1, X, "either"), ("A", 2, X, "either"), ("A", 3, X, "error"),
                    ("A", 1, Y, "true"), ("A", 2, Y, "true"), ("A", 3, Y, "true")])  # fmt: skip
    setting = Setting("A", "single", ("A",))
    row = evaluate(table, setting, reference(livenli))
    assert row["H"] == 0.0 and row["parse_rate"] == pytest.approx(5 / 6)
    # category: X e2 err1, Y t3: n = 6, o_same = 1 + 3 = 4, n_c = (2, 3, 1): 1 - 5*2/(36-14)
    assert row["alpha"] == pytest.approx(1 - 10 / 22)
    missing = Conventions(errors="missing")
    assert evaluate(table, setting, reference(livenli), conventions=missing)["alpha"] == 1.0


# ---------------------------------------------------------------------------- settings
def test_units_sizes_and_sweeps(livenli):
    sizes = _table([("fam", t, item, label) for t in (1, 2) for item in (X, Y)
                    for label in ["either"]], experiment="size_ablation")  # fmt: skip
    sizes = pd.concat([sizes.assign(num_params=n) for n in (1.0, 4.0, 12.0)])
    sizes.loc[(sizes["num_params"] == 4.0) & (sizes["sent_id"] == X), "class_simple"] = "false"
    sweep = _table([("m", t, item, "true" if t < 3 else "false") for t in (1, 2, 3)
                    for item in (X, Y)], experiment="temperature_sweep")  # fmt: skip
    sweep["temperature"] = sweep["trial"] * 0.1
    table = conform(pd.concat([sizes, sweep]))
    coded = prepare(table)
    assert coded.units["unit"].tolist() == [
        "fam (num_params=1)", "fam (num_params=4)", "fam (num_params=12)",
        "m (temperature=0.1)", "m (temperature=0.2)", "m (temperature=0.3)",
    ]  # fmt: skip
    (size,) = size_settings(coded)
    assert (size.name, size.kind, len(size.participants)) == ("fam", "size", 3)
    (sweep_setting,) = sweep_settings(coded)
    assert (sweep_setting.name, sweep_setting.options) == ("m", {"param": "temperature"})
    size_row, sweep_row = evaluate_many(coded, [size, sweep_setting], reference(livenli))
    # sizes per trial: X {either, false, either}, Y {either x3}; identical in both trials
    assert size_row["n_trials"] == 2
    assert size_row["H"] == pytest.approx(M.entropy([[2, 1, 0]])[0] / 2)
    assert size_row["consistency"] == 1.0  # every size answers the same in both trials
    # the sweep's three values (one answer each) form one replicate: X, Y {true, true, false}
    assert sweep_row["n_trials"] == 1
    assert sweep_row["H"] == pytest.approx(M.entropy([[0, 1, 2]])[0])
    assert sweep_row["consistency"] == 2.0  # distinct labels across the sweep
    with pytest.raises(UsageError, match="several runs"):
        evaluate(coded, Setting("fam", "single", ("fam",)), reference(livenli))
    assert [s.kind for s in settings_of_kind(coded, "size")] == ["size"]
    with pytest.raises(UsageError, match="no participant has more than one size"):
        settings_of_kind(prepare(sweep), "size")


def test_groups_and_unknown_members(two_members, livenli):
    assert parse_group("lo = A, B") == ("lo", ("A", "B"))
    for bad in ("lo", "=A", "lo="):
        with pytest.raises(UsageError, match="NAME=P1,P2"):
            parse_group(bad)
    (setting,) = group_settings(two_members, ["ab=A,B"])
    assert setting == Setting("ab", "mix", ("A", "B"))
    with pytest.raises(UsageError, match=r"unknown participant 'Z' in group 'ab'.*A, B"):
        group_settings(two_members, ["ab=A,Z"])
    with pytest.raises(UsageError, match="declared twice"):
        group_settings(two_members, ["ab=A", "ab=B"])


def test_no_matching_items(livenli):
    table = _table([("A", 1, "not-an-item", "true")])
    with pytest.raises(UsageError, match="no matching items"):
        evaluate(table, Setting("A", "single", ("A",)), reference(livenli))
    with pytest.raises(UsageError, match="no matching items"):
        evaluate(_table([("A", 1, "10164e", "true")]), Setting("A", "single", ("A",)),
                 reference(livenli, "chaosnli"))  # fmt: skip


def test_unknown_labels_and_duplicates():
    with pytest.raises(SourceError, match="unknown label"):
        prepare(_table([("A", 1, X, "maybe")]))
    marked = _table([("A", 1, X, "error")]).assign(parsed=True)  # error label, parsed flag set
    assert prepare(marked).category.tolist() == [3]
    with pytest.warns(UserWarning, match="1 duplicate"):
        coded = prepare(_table([("A", 1, X, "true"), ("A", 1, X, "false")]))
    assert coded.category.tolist() == [1]  # the last row wins


# ---------------------------------------------------------------------------- random mix
def test_random_mix_draws(livenli, two_members):
    table = pd.concat(
        [two_members.assign(participant=two_members["participant"] + str(i)) for i in range(4)]
    )
    draws = random_mix(table, None, reference(livenli, "livenli", "all"), draws=50, k=3, seed=1)
    assert len(draws) == 50 and list(draws.columns[:2]) == ["draw", "members"]
    assert draws["members"].str.count(",").eq(2).all()
    again = random_mix(table, None, reference(livenli, "livenli", "all"), draws=50, k=3, seed=1)
    pd.testing.assert_frame_equal(draws, again)
    assert draws["members"].nunique() > 1
    # each draw equals evaluating that mix directly
    first = draws.iloc[0]
    direct = evaluate(table, Setting("d", "mix", tuple(first["members"].split(","))),
                      reference(livenli))  # fmt: skip
    for key in ("H", "H_std", "JS", "KL_pq", "agree", "alpha", "consistency"):
        assert first[key] == pytest.approx(direct[key], nan_ok=True), key
    with pytest.raises(UsageError, match="cannot draw k=9"):
        random_mix(table, None, reference(livenli, "livenli", "all"), draws=5, k=9)


def test_random_mix_summary_row(livenli, two_members):
    setting = Setting("ab", "random_mix", ("A", "B"), {"draws": 20, "k": 2, "seed": 0})
    row = evaluate(two_members, setting, reference(livenli))
    mix = evaluate(two_members, Setting("ab", "mix", ("A", "B")), reference(livenli))
    assert row["setting"] == "random_mix"
    for key in ("H", "JS", "agree", "alpha", "consistency"):  # k = group size: every draw = mix
        assert row[key] == pytest.approx(mix[key]), key
        assert row[f"{key}_ci_low"] == pytest.approx(mix[key]) if key in ("H", "JS") else True


def test_sweep_names_are_unique(livenli):
    rows = [("m", t, item, "true") for t in (1, 2) for item in (X, Y)]
    temperature = _table(rows, experiment="temperature_sweep")
    temperature["temperature"] = temperature["trial"] * 0.5
    top_p = _table(rows, experiment="top_p_sweep")
    top_p["top_p"] = temperature["trial"] * 0.25
    other = _table(rows, experiment="temperature_sweep", participant="n")
    other["temperature"] = other["trial"] * 0.5
    found = sweep_settings(conform(pd.concat([temperature, top_p, other])))
    assert [(s.name, s.options["param"]) for s in found] == [
        ("m (temperature)", "temperature"), ("n", "temperature"), ("m (top_p)", "top_p"),
    ]  # fmt: skip
    assert found[0].participants == ("m (experiment=temperature_sweep, temperature=0.5, "
                                     "top_p=default)",
                                     "m (experiment=temperature_sweep, temperature=1, "
                                     "top_p=default)")  # fmt: skip


def test_fixture_with_its_gap_as_a_parse_failure(ministral, livenli):
    """The fixture's one absent answer (140440e, trial 4) as a parse failure (what a replay
    gave before it scored absent answers ``no_annotation``): distributions are unchanged, the
    parse rate drops to 609/610, and alpha (failures as a category) moves from 0.50 to 0.49;
    with failures as missing values it stays 0.50."""
    gap = ministral.iloc[[0]].assign(sent_id="140440e", trial=4, class_simple="error",
                                     class_multi="error", parsed=False)  # fmt: skip
    table = conform(pd.concat([ministral, gap]))
    setting = default_settings(table)[0]
    row = evaluate(table, setting, reference(livenli))
    plain = evaluate(ministral, setting, reference(livenli))
    for key in ("H", "JS", "KL_pq", "KL_qp", "agree", "cor", "consistency"):
        assert row[key] == pytest.approx(plain[key]), key
    assert row["parse_rate"] == pytest.approx(609 / 610)
    assert round(row["alpha"], 4) == 0.4885
    missing = Conventions(errors="missing")
    assert evaluate(table, setting, reference(livenli), conventions=missing)["alpha"] == 0.5


def test_unit_names_show_what_tells_units_apart(ministral, livenli):
    """The fixture (size 8, temperature 1, top_p 0.7, experiment model_mix_lo) next to its
    replay logs (experiment single, nothing recorded): the experiment alone tells them apart,
    so it is all the names show; unset values read 'unknown' (size) and 'default' (settings)."""
    replayed = ministral.assign(experiment="single", num_params=np.nan, temperature=np.nan,
                                top_p=np.nan)  # fmt: skip
    coded = prepare(conform(pd.concat([ministral, replayed])))
    assert coded.units["unit"].tolist() == [
        "ministral-8b (experiment=model_mix_lo)", "ministral-8b (experiment=single)",
    ]  # fmt: skip
    rows = evaluate_many(coded, default_settings(coded), reference(livenli))
    assert [(r["participant"], r["setting"]) for r in rows] == [
        ("ministral-8b (experiment=model_mix_lo)", "single"),
        ("ministral-8b (experiment=single)", "single"),
        ("all", "mix"),
    ]  # fmt: skip
    assert rows[0]["KL_pq"] == rows[1]["KL_pq"] and round(rows[0]["KL_pq"], 2) == 10.15
    # within one experiment: an unknown size next to a known one; a sweep value next to the
    # provider default; two columns needed for a third unit
    one = ministral[ministral["trial"] == 1]
    sizes = conform(pd.concat([one.assign(num_params=np.nan), one.assign(num_params=8.0)]))
    assert prepare(sizes).units["unit"].tolist() == [
        "ministral-8b (num_params=8)", "ministral-8b (num_params=unknown)",
    ]  # fmt: skip
    plain = one.assign(num_params=np.nan, temperature=np.nan, top_p=np.nan)
    mixed = conform(pd.concat([plain, plain.assign(temperature=0.5),
                               plain.assign(temperature=0.5, top_p=0.9)]))  # fmt: skip
    assert prepare(mixed).units["unit"].tolist() == [
        "ministral-8b (temperature=0.5, top_p=0.9)",
        "ministral-8b (temperature=0.5, top_p=default)",
        "ministral-8b (temperature=default, top_p=default)",
    ]  # fmt: skip


def test_bootstrap_cis_of_the_fixture(ministral, livenli):
    """Every mean's CI is the seeded percentile bootstrap of its per-item values (1,000
    resamples of the 122 items, 95%), brackets the mean, and is reproducible by seed."""
    setting = default_settings(ministral)[0]
    row = evaluate(ministral, setting, reference(livenli))
    items = item_table(ministral, setting, reference(livenli, "livenli", "all"))
    for key in ("H", "JS", "KL_pq", "KL_qp", "agree", "consistency"):
        low, high = M.bootstrap_ci(items[key].to_numpy(), n_boot=1000, seed=0, level=0.95)
        assert (row[f"{key}_ci_low"], row[f"{key}_ci_high"]) == (low, high), key
        assert low < row[key] < high, key
    assert (round(row["JS_ci_low"], 3), round(row["JS_ci_high"], 3)) == (0.429, 0.486)
    other = evaluate(ministral, setting, reference(livenli), conventions=Conventions(seed=1))
    assert other["JS_ci_low"] != row["JS_ci_low"] and other["JS"] == row["JS"]


# ---------------------------------------------------------------------------- conventions
def test_conventions_default_to_the_paper_and_thread_to_the_engine(ministral, livenli):
    assert Conventions() == Conventions(1e-10, "category", 1, None, 1000, 0.95, 0)
    setting = default_settings(ministral)[0]
    paper = evaluate(ministral, setting, reference(livenli))
    bits = evaluate(ministral, setting, reference(livenli), conventions=Conventions(log_base=2))
    assert bits["H"] == pytest.approx(paper["H"] / LN2)
    assert bits["JS"] == pytest.approx(paper["JS"] / math.sqrt(LN2))
    population = evaluate(ministral, setting, reference(livenli), conventions=Conventions(ddof=0))
    n = population["n_items"]
    assert population["H_std"] == pytest.approx(paper["H_std"] * math.sqrt((n - 1) / n))
    smoothed = Conventions(kl_epsilon=1e-3)
    smoother = evaluate(ministral, setting, reference(livenli), conventions=smoothed)
    assert smoother["KL_pq"] < paper["KL_pq"] and smoother["H"] == paper["H"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"errors": "drop"}, "errors must be one of category, missing"),
        ({"kl_epsilon": -1.0}, "kl_epsilon must be a finite number >= 0"),
        ({"ddof": -1}, "ddof must be a whole number >= 0"),
        ({"log_base": 1.0}, "log_base must be positive and not 1"),
        ({"n_boot": -1}, "n_boot must be a whole number >= 0"),
        ({"level": 1.0}, "level must be between 0 and 1"),
    ],
)
def test_bad_conventions(changes, message):
    with pytest.raises(ValueError, match=message):
        Conventions(**changes)


# ---------------------------------------------------------------------------- any label space
def _two_label_dataset():
    """A sentiment dataset with two labels (no ``either``): 2 items, 3 annotators."""
    from types import SimpleNamespace

    labels = ("neg", "pos")
    annotations = pd.DataFrame(
        {"item_id": ["a", "a", "a", "b", "b", "b"], "annotator": ["x", "y", "z"] * 2,
         "label": ["neg", "neg", "pos", "pos", "pos", "pos"]}
    )  # fmt: skip
    counts = pd.DataFrame({"neg": [2, 0], "pos": [1, 3]}, index=["a", "b"])
    population = SimpleNamespace(name="toy", counts=counts, description="3", primary=True)
    return SimpleNamespace(
        name="toy", labels=labels, populations={"toy": population}, primary="toy",
        subsets={"all": ("a", "b")}, annotations=annotations,
    )  # fmt: skip


def test_a_two_label_dataset_by_hand():
    dataset = _two_label_dataset()
    table = _table([("m", 1, "a", "neg"), ("m", 2, "a", "neg"), ("m", 1, "b", "neg"),
                    ("m", 2, "b", "error")])  # fmt: skip
    row = evaluate(table, Setting("m", "single", ("m",)), reference(dataset))
    # a: model (2, 0) vs humans (2, 1): H 0, majority neg = neg; b: model (1, 0) vs (0, 3)
    assert row["H"] == 0.0 and row["agree"] == 0.5 and row["parse_rate"] == 0.75
    js_a = M.js_distance([2, 0], [2, 1])
    assert row["JS"] == pytest.approx((js_a + math.sqrt(LN2)) / 2)
    (human,) = human_rows(dataset)
    assert human["population"] == "toy" and human["n_items"] == 2
    assert human["H"] == pytest.approx((M.entropy([2, 1]) + 0.0) / 2)
    # alpha of x, y, z over a (neg neg pos) and b (pos pos pos): o_same 2/2 + 6/2 = 4, n=6,
    # n_c = (2, 4): 1 - 5 * (6 - 4) / (36 - 20)
    assert human["alpha"] == pytest.approx(1 - 10 / 16)
    items = item_table(table, Setting("m", "single", ("m",)), reference(dataset))
    assert list(items.columns[-4:]) == ["human_neg", "human_pos", "neg", "pos"]
    with pytest.raises(SourceError, match=r"unknown label\(s\) \['true'\].*neg, pos, error"):
        evaluate(_table([("m", 1, "a", "true")]), Setting("m", "single", "m"), reference(dataset))


def test_reference_names_the_datasets_choices():
    dataset = _two_label_dataset()
    with pytest.raises(UsageError, match="unknown reference 'mnli' for dataset toy; choose .* toy"):
        reference(dataset, "mnli")
    with pytest.raises(UsageError, match="unknown subset 'chaosnli' for dataset toy; .* all"):
        reference(dataset, None, "chaosnli")


def test_a_new_setting_kind_registers_its_discovery(two_members):
    from inspect_partynli.analysis import DISCOVERY, register_kind

    register_kind("pairs", lambda coded, options: [Setting("AB", "pairs", ("A", "B"))])
    try:
        assert settings_of_kind(two_members, "pairs") == [Setting("AB", "pairs", ("A", "B"))]
    finally:
        del DISCOVERY["pairs"]
    with pytest.raises(ValueError, match="unknown setting kind 'pairs'"):
        Setting("AB", "pairs", ("A", "B"))
