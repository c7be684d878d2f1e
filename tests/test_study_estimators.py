"""Study files: the ``estimators`` section (more ways to read a model's distribution)."""

from __future__ import annotations

import pytest

from inspect_partynli.study import StudyError, configurations, parse_study


def with_(**changes) -> dict:
    models = [{"id": "partynli/annotators", "name": "humans"}]
    return {"models": models, **changes}


@pytest.mark.parametrize(
    ("estimators", "expected"),
    [
        ({"model": "humans"}, "estimators: expected a list of estimator runs, got a mapping"),
        ([{"logprobs": 1}], "estimators[0].model: missing: name the model to read"),
        ([{"model": "gpt", "logprobs": 1}], "estimators[0].model: 'gpt' is not a declared model"),
        ([{"model": "humans"}], "estimators[0]: reads nothing: give logprobs and/or verbalized"),
        ([{"model": "humans", "logprobs": 0}], "estimators[0].logprobs: must be >= 1, got 0"),
        ([{"model": "humans", "sampling": 5}], "estimators[0].sampling: unknown key; expected "
         "one of model, logprobs, verbalized, args"),
        ([{"model": "humans", "logprobs": 1}, {"model": "humans", "logprobs": 2}],
         "estimators[1].logprobs: humans is already read by logprobs (estimators[0].logprobs)"),
        ([{"model": "humans", "verbalized": 1, "args": [1]}],
         "estimators[0].args: expected a mapping, got a"),
    ],
)  # fmt: skip
def test_invalid_estimators_name_the_key_and_the_problem(estimators, expected):
    with pytest.raises(StudyError) as caught:
        parse_study(with_(estimators=estimators))
    assert expected in str(caught.value)


def test_estimator_runs_have_their_folders_experiments_task_and_model_args():
    study = parse_study(
        with_(
            epochs=10,
            task={"subset": "chaosnli"},
            estimators=[{"model": "humans", "logprobs": 1, "verbalized": 3,
                         "args": {"temperature": 0.5}}],
        )
    )  # fmt: skip
    single, logprobs, verbalized = configurations(study)
    assert single.kind == "single" and single.estimator is None
    assert "estimator" not in single.task_args(study)  # sampling: today's run, unchanged
    assert (logprobs.slug, logprobs.kind, logprobs.experiment, logprobs.epochs) == (
        "estimator-humans-logprobs", "estimator", "logprobs", 1,
    )  # fmt: skip
    assert logprobs.task_args(study) == {"subset": "chaosnli", "epochs": 1, "estimator": "logprobs"}
    assert verbalized.task_args(study)["estimator"] == "verbalized" and verbalized.epochs == 3
    assert logprobs.model.args == {"temperature": 0.5} and single.model.args == {}
    assert logprobs.model.participant == "humans"
    assert logprobs.metadata(study)["estimator"] == "logprobs"
    assert logprobs.requests(50) == 50 and verbalized.requests(50) == 150


def test_the_shipped_offline_study_runs_the_three_estimators_and_reports_them(tmp_path, capsys):
    """`partynli run estimators-offline` then `partynli report`: the comparison table and
    figure; both estimators reproduce the replayed distributions (JS 0 vs the LiveNLI workers)."""
    import pandas as pd

    from inspect_partynli.cli import main

    logs, out = tmp_path / "logs", tmp_path / "report"
    assert main(["run", "estimators-offline", "--yes", "--display", "none",
                 "--log-dir", str(logs)]) == 0  # fmt: skip
    assert sorted(p.name for p in logs.iterdir()) == [
        "estimator-livenli-annotators-logprobs", "estimator-livenli-annotators-verbalized",
        "estimator-ministral-8b-logprobs", "estimator-ministral-8b-verbalized",
        "single-livenli-annotators", "single-ministral-8b",
    ]  # fmt: skip
    assert main(["report", "estimators-offline", "--log-dir", str(logs), "--out", str(out),
                 "--no-explanations"]) == 0  # fmt: skip
    table = pd.read_csv(out / "estimators.csv")
    assert (out / "estimators.png").is_file()
    assert "Estimators: sampling vs log-probabilities vs verbalized" in (
        out / "report.md"
    ).read_text()
    workers = table[(table["reference"] == "livenli")
                    & (table["participant"] == "livenli-annotators")].set_index("estimator")
    assert workers.loc["logprobs", "JS"] == pytest.approx(0, abs=1e-8)
    assert workers.loc["verbalized", "JS"] == pytest.approx(0, abs=1e-8)
    assert workers.loc["sampling", "JS"] > 0.05  # 5 of 10 workers per item
    assert workers.loc["logprobs", "cor"] == pytest.approx(1.0)
    assert list(workers["n_trials"]) == [5, 1, 1]
    mix = table[table["estimator"] == "MODEL MIX"]
    assert set(mix["participant"]) == {"all"} and mix["JS"].notna().all()
    # the replayed model: every estimator reads its 5 trials' shares
    ministral = table[(table["reference"] == "chaosnli") & (table["participant"] == "ministral-8b")]
    assert ministral["JS"].max() - ministral["JS"].min() == pytest.approx(0, abs=1e-8)

    # `partynli metrics` on the study's log folder: the same ESTIMATOR rows (one grouping, in
    # the analysis), no estimator run among the SINGLE rows or in MODEL MIX all
    import json

    capsys.readouterr()
    assert main(["metrics", str(logs), "--subset", "chaosnli", "--reference", "livenli",
                 "--format", "json"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    singles = [r["participant"] for r in rows if r["setting"] == "single"]
    assert singles == ["livenli-annotators", "ministral-8b"]
    estimators = {(r["participant"], r["estimator"]): r for r in rows
                  if r["setting"] == "estimator"}  # fmt: skip
    assert len(estimators) == 6
    livenli = table[table["reference"] == "livenli"]
    for record in livenli[livenli["estimator"] != "MODEL MIX"].to_dict("records"):
        row = estimators[(record["participant"], record["estimator"])]
        for key in ("n_trials", "n_items", "H", "JS", "KL_pq", "KL_qp", "agree", "cor"):
            assert row[key] == pytest.approx(record[key], abs=1e-12), key
    (mix,) = [r for r in rows if r["setting"] == "mix"]
    assert mix["JS"] == pytest.approx(livenli.loc[livenli["estimator"] == "MODEL MIX", "JS"].item())

    # exported to a PartyNLI file (CSV and Parquet), the estimator runs read back the same
    for name in ("study.csv", "study.parquet"):
        exported = tmp_path / name
        assert main(["export", str(logs), "-o", str(exported)]) == 0
        capsys.readouterr()
        assert main(["metrics", str(exported), "--subset", "chaosnli", "--reference", "livenli",
                     "--format", "json"]) == 0  # fmt: skip
        again = json.loads(capsys.readouterr().out)
        assert [(r["participant"], r["setting"], r.get("estimator")) for r in again] == [
            (r["participant"], r["setting"], r.get("estimator")) for r in rows
        ], name
        for mine, theirs in zip(again, rows, strict=True):
            assert mine["JS"] == pytest.approx(theirs["JS"], abs=1e-12), name
