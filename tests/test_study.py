"""Study files: validation (precise errors), expansion, preflight checks, the shipped studies,
and one end-to-end run / re-run / report of the offline study."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES_DIR as FIXTURES
from inspect_partynli.cli import main
from inspect_partynli.study import (
    SIZE_EXPERIMENT,
    StudyError,
    configurations,
    load_study,
    packaged_studies,
    parse_study,
    plan,
    preflight,
    slug,
)

MINIMAL = {"models": [{"id": "partynli/livenli-annotators", "name": "humans"}]}


def errors_of(raw: dict) -> str:
    with pytest.raises(StudyError) as caught:
        parse_study(raw)
    return str(caught.value)


def with_(**changes) -> dict:
    return {**MINIMAL, **changes}


# --------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (with_(epoch=5), "epoch: unknown key; expected one of name, task, epochs"),
        (with_(epochs="five"), "epochs: expected a positive integer, got a string ('five')"),
        (with_(epochs=0), "epochs: must be >= 1, got 0"),
        (with_(epochs=True), "epochs: expected a positive integer, got a boolean (True)"),
        (with_(max_connections=-1), "max_connections: must be >= 1, got -1"),
        (with_(task={"subset": "mnli"}), "task.subset: unknown subset 'mnli'; choose one of all"),
        (
            with_(task={"items": 3}),
            "task.items: unknown key; expected one of dataset, data, subset",
        ),
        ({"models": []}, "models: empty: a study needs at least one model"),
        ({"epochs": 5}, "models: missing: a study needs at least one model"),
        ({"models": {"id": "a/b"}}, "models: expected a list of models, got a mapping"),
        ({"models": [{"name": "x"}]}, "models[0].id: missing: give an Inspect model id"),
        ({"models": [{"id": "gpt-4"}]}, "models[0].id: 'gpt-4' is not an Inspect model id"),
        ({"models": [{"id": "a/b", "temp": 1}]}, "models[0].temp: unknown key; expected one of id"),
        ({"models": [{"id": "a/b", "num_params": 0}]}, "models[0].num_params: must be > 0, got 0"),
        ({"models": [{"id": "a/b", "args": [1]}]}, "models[0].args: expected a mapping, got a"),
        (
            {"models": [{"id": "a/b"}, {"id": "a/b", "name": "other"}]},
            "models[1].id: duplicate model 'a/b' (same as models[0])",
        ),
        (
            {"models": [{"id": "a/b", "name": "x"}, {"id": "a/c", "name": "x"}]},
            "models[1].name: duplicate name 'x' (also models[0])",
        ),
        (with_(groups={"hi": ["humans", "gpt"]}), "groups.hi[1]: 'gpt' is not a declared model"),
        (with_(groups={"hi": ["humans", "humans"]}), "groups.hi[1]: 'humans' is listed twice"),
        (with_(groups={"hi": []}), "groups.hi: expected a non-empty list of model names"),
        (with_(groups={"all": ["humans"]}), "groups.all: 'all' is implied"),
        (with_(groups={"1x": ["humans"]}), "groups.1x: group names start with a letter"),
        (with_(single="gpt"), "single: 'gpt' is not a declared model (declared: humans)"),
        (
            with_(sweeps=[{"model": "humans", "temperature": 0}]),
            "sweeps[0].temperature: must be > 0, got 0",
        ),
        (
            with_(sweeps=[{"model": "humans", "temperature": -1.5}]),
            "sweeps[0].temperature: must be > 0, got -1.5",
        ),
        (
            with_(sweeps=[{"model": "humans", "top_p": {"max": 1.5}}]),
            "sweeps[0].top_p.max: must be at most 1.0, got 1.5",
        ),
        (
            with_(sweeps=[{"model": "humans", "top_p": {"epochs": 3}}]),
            "sweeps[0].top_p.max: missing: the largest value of the sweep",
        ),
        (
            with_(sweeps=[{"model": "humans", "temperature": {"max": 1, "steps": 3}}]),
            "sweeps[0].temperature.steps: unknown key; expected one of max, epochs",
        ),
        (
            with_(sweeps=[{"model": "gpt", "temperature": 1.0}]),
            "sweeps[0].model: 'gpt' is not a declared model",
        ),
        (with_(sweeps=[{"model": "humans"}]), "sweeps[0]: sweeps nothing: give temperature"),
        (
            with_(
                sweeps=[
                    {"model": "humans", "temperature": 1.0},
                    {"model": "humans", "temperature": 2.0},
                ]
            ),
            "sweeps[1].temperature: humans is already swept over temperature (sweeps[0]",
        ),
        (
            with_(sizes={"fam": [{"id": "ollama/fam:1b"}]}),
            "sizes.fam[0].num_params: missing: size family members need their size",
        ),
        (
            with_(sizes={"fam": [{"id": "o/f", "num_params": 1}, {"id": "o/g", "num_params": 1}]}),
            "sizes.fam[1].num_params: size 1 appears twice (also sizes.fam[0])",
        ),
        (with_(sizes={"fam": []}), "sizes.fam: expected a non-empty list of members"),
        (with_(task={"data": "/no/such/livenli"}), "task.data: no such file or folder: /no/such"),
        (
            {"models": [{"id": "partynli/replay", "args": {"path": "${PARTYNLI_NO_SUCH_VAR}"}}]},
            "models[0].args.path: environment variable PARTYNLI_NO_SUCH_VAR is not set",
        ),
        ([1, 2], "(top level): expected a mapping, got a list"),
        (None, "(top level): the study file is empty"),
    ],
)
def test_invalid_study_names_the_key_and_the_problem(raw, expected):
    assert expected in errors_of(raw)


def test_every_problem_is_reported_at_once():
    message = errors_of({"epochs": 0, "models": [{"id": "x"}], "colour": "red"})
    assert "3 problems" in message
    assert "colour: unknown key" in message
    assert "epochs: must be >= 1" in message
    assert "models[0].id: 'x' is not an Inspect model id" in message


def test_duplicate_yaml_keys_are_refused(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("epochs: 5\nepochs: 3\nmodels: [{id: a/b}]\n")
    with pytest.raises(StudyError, match=r"duplicate key 'epochs' \(first on line 1\)"):
        load_study(path)


def test_missing_study_file_names_the_packaged_studies(tmp_path):
    from inspect_partynli.errors import SourceError

    with pytest.raises(SourceError, match="no such study file .*offline, paper"):
        load_study(tmp_path / "nope.yaml")


def test_paths_resolve_relative_to_the_study_file_and_env_vars_expand(tmp_path, monkeypatch):
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "answers.csv").write_text("x\n")
    monkeypatch.setenv("STUDY_INPUTS", "inputs")
    study_file = tmp_path / "sub" / "s.yaml"
    study_file.parent.mkdir()
    study_file.write_text(
        "models:\n"
        "  - id: partynli/replay\n"
        "    args:\n"
        "      path: ../${STUDY_INPUTS}/answers.csv\n"
        "      participant: p\n"
        "      other: ${UNSET_X:-d}\n"
    )
    study = load_study(study_file)
    model = study.models[0]
    # a path that starts with a variable set in the shell is relative to the working directory
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STUDY_INPUTS_DIR", "inputs")
    study_file.write_text("models: [{id: a/b, args: {path: '${STUDY_INPUTS_DIR}/answers.csv'}}]")
    assert load_study(study_file).models[0].args["path"] == str(tmp_path / "inputs" / "answers.csv")
    assert model.args == {
        "path": str(tmp_path / "inputs" / "answers.csv"),
        "participant": "p",
        "other": "d",
    }
    assert study.name == "s" and study.default_log_dir == "logs/s"


# --------------------------------------------------------------------------------------------
# expansion


def test_configurations_have_their_own_folders_experiments_and_task_args():
    study = parse_study(
        {
            "name": "t",
            "epochs": 3,
            "task": {"subset": "chaosnli"},
            "models": [
                {"id": "openai/gpt-4.1", "name": "gpt-4.1"},
                {"id": "grok/grok-3-mini", "name": "grok-3-mini", "max_connections": 4},
            ],
            "groups": {"model_mix_hi": ["gpt-4.1"], "model_mix_lo": ["grok-3-mini"]},
            "sweeps": [{"model": "grok-3-mini", "temperature": 1.5, "top_p": {"max": 1.0}}],
            "sizes": {"qwen3": [{"id": "ollama/qwen3:0.6b", "num_params": 0.6}]},
        }
    )
    configs = configurations(study)
    assert [c.slug for c in configs] == [
        "single-gpt-4.1",
        "single-grok-3-mini",
        "sweep-grok-3-mini-temperature",
        "sweep-grok-3-mini-top_p",
        "size-qwen3-0.6b",
    ]
    assert [c.experiment for c in configs] == [
        "model_mix_hi", "model_mix_lo", "temperature_sweep", "top_p_sweep", SIZE_EXPERIMENT,
    ]  # fmt: skip
    assert configs[0].task_args(study) == {"subset": "chaosnli", "epochs": 3}
    assert configs[2].task_args(study) == {
        "subset": "chaosnli", "epochs": 10, "sweep": "temperature", "tmax": 1.5,
    }  # fmt: skip
    size = configs[4]
    # a family's members are one participant (the family) in several sizes, as in PartyNLI
    assert size.model.name == "qwen3-0.6b" and size.model.participant == "qwen3"
    assert size.family == "qwen3"
    assert size.metadata(study)["num_params"] == 0.6
    assert configs[1].metadata(study) == {
        "study": "t", "config": "single-grok-3-mini", "kind": "single",
        "experiment": "model_mix_lo", "participant": "grok-3-mini", "model_name": "grok-3-mini",
        "num_params": None, "family": None, "groups": ["model_mix_lo"], "sweep": None,
        "tmax": None,
    }  # fmt: skip
    assert study.single == "gpt-4.1"  # the first model when not given
    assert study.all_groups()["all"] == ("gpt-4.1", "grok-3-mini")


def test_colliding_log_folders_are_refused():
    parse_study({"models": [{"id": "a/x", "name": "A.B"}, {"id": "a/y", "name": "a b"}]})
    message = errors_of({"models": [{"id": "a/x", "name": "a b"}, {"id": "a/y", "name": "a/b"}]})
    assert "models[1]: its log folder 'single-a-b' is also that of models[0]" in message


def test_slug():
    assert slug("openai/gpt-4.1") == "openai-gpt-4.1"
    assert slug("ollama/qwen3:0.6b") == "ollama-qwen3-0.6b"
    assert slug("Top P!") == "top-p"


# --------------------------------------------------------------------------------------------
# preflight: providers, keys, packages


def test_preflight_reports_unknown_providers_and_missing_keys_at_once(monkeypatch):
    for variable in ("OPENAI_API_KEY", "AZUREAI_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    monkeypatch.delenv("GROK_API_KEY", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    study = parse_study(
        {
            "models": [
                {"id": "openai/gpt-4.1"},
                {"id": "openai/gpt-4o-mini"},
                {"id": "nosuchapi/model"},
                {"id": "grok/grok-3-mini", "args": {"api_key": "given"}},
                {"id": "ollama/gemma3:1b"},
                {"id": "partynli/livenli-annotators"},
            ]
        }
    )
    problems = preflight(configurations(study))
    assert problems[0].startswith(
        "models[2] (nosuchapi/model): unknown model provider 'nosuchapi' (known: "
    )
    assert "partynli" in problems[0] and "ollama" in problems[0]
    keys = [p for p in problems if "_API_KEY" in p]
    assert keys == [
        "OPENAI_API_KEY (or AZUREAI_OPENAI_API_KEY, AZURE_OPENAI_API_KEY) is not set; needed by "
        "models[0] (openai/gpt-4.1), models[1] (openai/gpt-4o-mini)"
    ]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert not [p for p in preflight(configurations(study)) if "_API_KEY" in p]


def test_offline_study_needs_nothing():
    assert preflight(configurations(load_study("offline"))) == []


def test_missing_livenli_says_where_a_study_sets_the_path(monkeypatch, tmp_path):
    from inspect_partynli.datasets import DataNotFoundError
    from inspect_partynli.study import study_items

    monkeypatch.delenv("INSPECT_PARTYNLI_DATA", raising=False)
    monkeypatch.setenv("INSPECT_PARTYNLI_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError))
    with pytest.raises(DataNotFoundError, match=r"In a study file, the path goes in task\.data"):
        study_items(parse_study(MINIMAL))


# --------------------------------------------------------------------------------------------
# the shipped studies


def test_packaged_studies_are_found_by_name():
    assert {"paper", "offline"} <= set(packaged_studies())


def test_paper_study_matches_table_1_and_section_3():
    study = load_study("paper")
    assert len(study.models) == 20 and study.epochs == 5 and study.single == "grok-3-mini"
    hi, lo = study.groups["model_mix_hi"], study.groups["model_mix_lo"]
    assert len(hi) == len(lo) == 10 and not set(hi) & set(lo)
    assert set(hi) | set(lo) == {m.name for m in study.models}
    assert "claude-opus-4" in hi and "ministral-8b" in lo
    providers = {m.provider for m in study.models}
    assert {"openai", "anthropic", "google", "grok", "mistral"} <= providers
    tmax = {(s.model, s.parameter): s.max for s in study.sweeps}
    assert tmax == {
        ("grok-3-mini", "temperature"): 1.5, ("grok-3-mini", "top_p"): 1.0,
        ("qwen3-235b", "temperature"): 1.0, ("qwen3-235b", "top_p"): 1.0,
        ("gemini-2.0-flash", "temperature"): 2.0, ("gemini-2.0-flash", "top_p"): 1.0,
        ("kimi-k2", "temperature"): 1.0, ("kimi-k2", "top_p"): 1.0,
    }  # fmt: skip
    assert all(s.epochs == 10 for s in study.sweeps)
    sizes = {f.name: [m.num_params for m in f.members] for f in study.sizes}
    assert sizes == {
        "gemma3": [1, 4, 12, 27],
        "qwen3": [0.6, 1.7, 4, 8, 14, 32, 235],
        "deepseek-r1": [7, 8, 14, 32, 70, 671],
    }
    assert len(configurations(study)) == 20 + 8 + 17


def test_paper_study_plan_counts_requests(monkeypatch, tmp_path):
    runs = plan(load_study("paper"), tmp_path)
    assert {run.config.model.name: run.requests for run in runs}["gpt-4.1"] == 122 * 5
    sweep = [run for run in runs if run.config.kind == "sweep"]
    assert {run.requests for run in sweep} == {122 * 10}
    assert sum(run.requests for run in runs) == 122 * (5 * 20 + 10 * 8 + 5 * 17) == 32330
    assert len({run.log_dir for run in runs}) == 45 and not any(run.done for run in runs)


# --------------------------------------------------------------------------------------------
# the command


def test_run_without_terminal_or_yes_aborts_with_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code = main(["run", "offline", "--log-dir", str(tmp_path / "logs")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "requests" in out and "total" in out
    assert "no terminal to confirm the run on: pass --yes" in err
    assert not (tmp_path / "logs").exists()


def test_run_reports_an_invalid_study_before_anything_runs(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("models:\n  - {id: openai/gpt-4.1}\nsweeps:\n  - {model: gpt, top_p: 2}\n")
    assert main(["run", str(path), "--yes", "--log-dir", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"partynli run: error: {path}: invalid study file (2 problems)")
    assert "sweeps[0].model: 'gpt' is not a declared model" in err
    assert "sweeps[0].top_p: must be at most 1.0, got 2" in err
    assert not (tmp_path / "logs").exists()


def test_dry_run_runs_nothing(capsys, tmp_path):
    assert main(["run", "offline", "--dry-run", "--log-dir", str(tmp_path / "l")]) == 0
    out = capsys.readouterr().out
    assert "livenli-annotators" in out and "Dry run: nothing was run." in out
    # 50 chaosnli items x (5 single + 10 sweep) for the annotators; x (5 + 5) for ministral
    assert "750" in out and "500" in out and "1250" in out
    assert not (tmp_path / "l").exists()


# --------------------------------------------------------------------------------------------
# end to end: run, re-run (nothing redone), report


def _fingerprints(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def small_offline_study(tmp_path_factory) -> Path:
    """The shipped offline study with 1 epoch (and 2 sweep values), to keep the test fast."""
    raw = yaml.safe_load(packaged_studies()["offline"].read_text())
    raw["epochs"] = 1
    raw["sweeps"][0]["temperature"] = {"max": raw["sweeps"][0]["temperature"], "epochs": 2}
    path = tmp_path_factory.mktemp("study") / "offline-small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_offline_study_end_to_end(small_offline_study, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PARTYNLI_FIXTURES", str(FIXTURES))
    logs = tmp_path / "logs"
    args = ["run", str(small_offline_study), "--yes", "--display", "none", "--log-dir", str(logs)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 of 4 runs complete" in out
    folders = sorted(p.name for p in logs.iterdir())
    assert folders == [
        "single-livenli-annotators",
        "single-ministral-8b",
        "size-ministral-8b",
        "sweep-livenli-annotators-temperature",
    ]
    before = _fingerprints(logs)
    assert sum(name.endswith(".eval") for name in before) == 4

    # re-run: every run is already finished, eval_set reuses the logs, nothing is written
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(4 of 4 runs already finished in their log folders)" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    assert total.split()[-1] == "0"  # requests still to run
    assert _fingerprints(logs) == before

    # the logs carry what the annotation table needs
    from inspect_ai.log import list_eval_logs, read_eval_log

    headers = {
        Path(info.name).parent.name: read_eval_log(info, header_only=True)
        for info in list_eval_logs(str(logs), recursive=True)
    }
    size = headers["size-ministral-8b"].eval.metadata["partynli"]
    assert size["experiment"] == SIZE_EXPERIMENT and size["num_params"] == 8
    sweep = headers["sweep-livenli-annotators-temperature"]
    assert sweep.eval.task_args["sweep"] == "temperature"
    assert all(h.status == "success" for h in headers.values())
    assert set(headers["single-ministral-8b"].eval.tags) == {
        "study:offline", "single", "model_mix_lo", "group:model_mix_lo",
    }  # fmt: skip

    # the study's annotation table: the study's participants, experiments and sizes
    from inspect_partynli.study import report_inputs

    inputs = report_inputs(load_study(small_offline_study), logs)
    table = inputs.table
    assert inputs.missing == ()
    counts = table.groupby(["participant", "experiment"]).size().to_dict()
    assert counts == {
        ("livenli-annotators", "model_mix_hi"): 50,
        ("livenli-annotators", "temperature_sweep"): 100,
        ("ministral", "size_ablation"): 50,
        ("ministral-8b", "model_mix_lo"): 50,
    }
    assert set(table.loc[table["participant"] == "ministral", "num_params"]) == {8.0}
    sweep_rows = table[table["experiment"] == "temperature_sweep"]
    # epoch e sends the e-th of the 10 values over [0.05, 0.95] x tmax
    assert sorted(sweep_rows["temperature"].unique()) == [0.05, 0.15]
    assert inputs.single == "ministral-8b"
    assert inputs.groups["model_mix_lo"] == ("ministral-8b",)
    assert inputs.groups["all"] == (inputs.groups["model_mix_hi"][0], "ministral-8b")

    # the log folder alone (no study file) gives the same table: the loader reads the
    # participant, experiment and size each run recorded in its log header
    from inspect_partynli.annotations import load_annotations

    alone = load_annotations(logs)
    assert alone.groupby(["participant", "experiment"]).size().to_dict() == counts
    assert set(alone.loc[alone["participant"] == "ministral", "num_params"]) == {8.0}
    # the replayed labels are ministral-8b's own (trial 1 of the 50 ChaosNLI items)
    import pandas as pd

    fixture = pd.read_csv(FIXTURES / "partynli-ministral-8b.csv")
    mine = table[table["experiment"] == "model_mix_lo"].set_index(["sent_id", "trial"])
    theirs = fixture.set_index(["sent_id", "trial"]).loc[mine.index]
    assert (mine["class_simple"] == theirs["class_simple"]).all()

    # report: Table 2 rows from the study's groups, with no further options
    out = tmp_path / "report"
    code = main(
        ["report", str(small_offline_study), "--log-dir", str(logs), "-o", str(out),
         "--no-explanations", "--no-progress", "--draws", "5"]
    )  # fmt: skip
    assert code == 0
    table2 = pd.read_csv(out / "table2.csv")
    assert table2["name"].tolist() == [
        "Human", "SINGLE ministral-8b", "MODEL MIX model_mix_hi", "MODEL MIX model_mix_lo",
        "MODEL MIX all", "SWEEP livenli-annotators",
    ]  # fmt: skip
    assert table2.loc[table2["name"] == "MODEL MIX all", "parameters"].item() == "2 participants"
    assert _fingerprints(logs) == before  # the report never writes into the logs

    # the study changed (2 epochs) but its folders hold the 1-epoch runs: refused up front
    changed = small_offline_study.with_name("offline-changed.yaml")
    changed.write_text(small_offline_study.read_text().replace("epochs: 1", "epochs: 2"))
    assert main(["run", str(changed), "--yes", "--log-dir", str(logs)]) == 2
    err = capsys.readouterr().err
    assert "3 problems found before running; nothing was run" in err
    assert "models[1]: " + str(logs / "single-ministral-8b") in err
    assert "is a different run: epochs 1 (now 2)" in err
    assert _fingerprints(logs) == before


def test_a_failing_run_does_not_stop_the_others(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("sent_id,label\nx,true\n")  # not a PartyNLI file: the model cannot start
    study = parse_study(
        {
            "task": {"subset": "chaosnli"},
            "epochs": 1,
            "models": [
                {"id": "partynli/replay", "name": "broken", "args": {"path": str(bad)}},
                {"id": "partynli/livenli-annotators", "name": "humans"},
            ],
        }
    )
    from inspect_partynli.study import run_study

    results = run_study(study, tmp_path / "logs", display="none", retry_attempts=0)
    assert [r.success for r in results] == [False, True]
    assert "broken" in results[0].run.config.slug and results[0].error
    assert "[1/2] single-broken failed:" in capsys.readouterr().err


@pytest.mark.parametrize("answer", ["", "n", "no", "whatever"])
def test_run_asks_and_anything_but_yes_runs_nothing(answer, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or answer)
    assert main(["run", "offline", "--log-dir", str(tmp_path / "logs")]) == 1
    assert asked == ["Send up to 1250 requests? [y/N] "]
    assert "Nothing was run." in capsys.readouterr().out
    assert not (tmp_path / "logs").exists()


def test_end_of_input_at_the_question_runs_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def ctrl_d(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", ctrl_d)
    assert main(["run", "offline", "--log-dir", str(tmp_path / "logs")]) == 1
    assert "Nothing was run." in capsys.readouterr().out
    assert not (tmp_path / "logs").exists()


def test_yes_at_the_question_runs_and_a_finished_study_asks_nothing(capsys, tmp_path, monkeypatch):
    study = tmp_path / "one.yaml"
    study.write_text(
        "task: {subset: chaosnli}\nepochs: 1\n"
        "models: [{id: partynli/livenli-annotators, name: h}]\n"
    )
    logs = tmp_path / "logs"
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    asked = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or " YES ")
    args = ["run", str(study), "--display", "none", "--log-dir", str(logs)]
    assert main(args) == 0
    assert asked == ["Send up to 50 requests? [y/N] "]  # 50 ChaosNLI items x 1 epoch
    assert "1 of 1 runs complete" in capsys.readouterr().out
    # finished: nothing left to send, so no question even without a terminal or --yes
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(args) == 0
    assert len(asked) == 1
    assert "1 of 1 runs complete" in capsys.readouterr().out


def test_yaml_syntax_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("models:\n  - id: openai/gpt-4.1\n   name: x\n")
    with pytest.raises(StudyError) as caught:
        load_study(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid YAML")
    assert f'in "{path}", line 3, column 4' in message


def test_preflight_suggests_the_provider_meant(monkeypatch):
    study = parse_study({"models": [{"id": "openia/gpt-4.1"}, {"id": "antropic/claude"}]})
    problems = preflight(configurations(study), servers=False)
    assert problems[0].startswith(
        "models[0] (openia/gpt-4.1): unknown model provider 'openia' (did you mean 'openai'? known:"
    )
    assert "unknown model provider 'antropic' (did you mean 'anthropic'?" in problems[1]


@pytest.fixture
def ollama_server():
    """A stand-in Ollama server whose /api/tags lists gemma3:1b and phi4:latest."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Tags(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = json.dumps({"models": [{"name": "gemma3:1b"}, {"name": "phi4:latest"}]})
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Tags)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_preflight_asks_the_ollama_server_for_its_models(ollama_server, monkeypatch):
    from inspect_partynli.study import ollama_problems

    monkeypatch.setenv("OLLAMA_BASE_URL", ollama_server)
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    study = parse_study(
        {
            "models": [
                {"id": "ollama/gemma3:1b"},
                {"id": "ollama/phi4"},  # phi4:latest
                {"id": "ollama/gemma3:27b"},
                {"id": "ollama/olmo2:13b"},
                {"id": "ollama/qwen3:8b", "base_url": down},
            ]
        }
    )
    configs = configurations(study)
    problems = ollama_problems([(f"{c.where} ({c.model.id})", c.model) for c in configs])
    assert problems[0] == (
        f"the Ollama server at {ollama_server} has not pulled models[2] (ollama/gemma3:27b), "
        "models[3] (ollama/olmo2:13b): `ollama pull gemma3:27b` etc. first"
    )
    assert problems[1].startswith(f"the Ollama server at {down} does not answer (")
    assert problems[1].endswith(
        "start it (`ollama serve`) or set OLLAMA_BASE_URL; needed by models[4] (ollama/qwen3:8b)"
    )
    assert len(problems) == 2
    # preflight includes them (and only asks servers when told to)
    assert [p for p in preflight(configs) if "Ollama" in p] == problems
    assert not [p for p in preflight(configs, servers=False) if "Ollama" in p]


def test_the_plan_shows_each_models_runs_epochs_and_requests(tmp_path):
    from inspect_partynli.study import format_plan

    study = load_study("paper")
    text = format_plan(study, plan(study, tmp_path), tmp_path)
    lines = text.splitlines()
    assert lines[0] == (
        f"Study 'paper': 45 runs into {tmp_path}/; requests = 122 items x epochs "
        "(a sweep sends one value per epoch)"
    )
    rows = {line.split()[0]: line.split()[2:] for line in lines[2:]}
    # single run (5 epochs) + temperature and top-p sweeps (10 values each): 122 x 25
    assert rows["grok-3-mini"] == ["3", "5+10+10", "3050", "3050"]
    assert rows["gpt-4.1"] == ["1", "5", "610", "610"]
    assert rows["gemma3-27b"] == ["1", "5", "610", "610"]
    assert lines[-1].split() == ["total", "45", "32330", "32330"]


def test_a_size_family_gives_table_2_its_size_row(tmp_path, monkeypatch):
    """Two sizes of one family (stand-ins: the replayed annotators as '1B', the ministral-8b
    fixture as 8B) come out as Table 2's SIZE row with no report option."""
    import pandas as pd

    from inspect_partynli.analysis import size_settings
    from inspect_partynli.study import report_inputs, run_study

    study_file = tmp_path / "sizes.yaml"
    study_file.write_text(
        yaml.safe_dump(
            {
                "task": {"subset": "chaosnli"},
                "epochs": 1,
                "models": [{"id": "partynli/livenli-annotators", "name": "humans"}],
                "sizes": {
                    "replayed": [
                        {"id": "partynli/livenli-annotators", "num_params": 1},
                        {
                            "id": "partynli/replay",
                            "num_params": 8,
                            "args": {"path": str(FIXTURES / "partynli-ministral-8b.csv")},
                        },
                    ]
                },
            }
        )
    )
    study = load_study(study_file)
    logs = tmp_path / "logs"
    assert all(r.success for r in run_study(study, logs, display="none"))
    table = report_inputs(study, logs).table
    sizes = table[table["experiment"] == SIZE_EXPERIMENT]
    assert sizes.groupby(["participant", "num_params"]).size().to_dict() == {
        ("replayed", 1.0): 50,
        ("replayed", 8.0): 50,
    }
    assert [(s.name, s.kind, len(s.participants)) for s in size_settings(table)] == [
        ("replayed", "size", 2)
    ]
    out = tmp_path / "report"
    args = ["report", str(study_file), "--log-dir", str(logs), "-o", str(out)]
    assert main([*args, "--no-explanations", "--no-progress", "--draws", "5"]) == 0
    names = pd.read_csv(out / "table2.csv")["name"].tolist()
    assert names == ["Human", "SINGLE humans", "MODEL MIX all", "SIZE replayed"]


def _fake_eval_set(monkeypatch, *outcomes):
    """Replace Inspect's eval_set by one returning ``outcomes`` (success, log statuses) in turn."""
    from types import SimpleNamespace

    import inspect_ai

    calls = []

    def eval_set(**kwargs):
        success, statuses = outcomes[len(calls)]
        calls.append(kwargs["log_dir"])
        return success, [SimpleNamespace(status=s, location=f"{s}.eval") for s in statuses]

    monkeypatch.setattr(inspect_ai, "eval_set", eval_set)
    return calls


def test_ctrl_c_stops_the_study_and_says_how_to_resume(tmp_path, monkeypatch, capsys):
    from inspect_partynli.study import running

    calls = _fake_eval_set(monkeypatch, (True, ["cancelled"]), (True, ["success"]))
    code = main(["run", "offline", "--yes", "--log-dir", str(tmp_path)])
    assert code == 130 and len(calls) == 1  # the other 3 runs are not started
    err = capsys.readouterr().err
    assert "[1/4] single-livenli-annotators interrupted: run the same command again" in err
    assert err.rstrip().endswith("partynli run: interrupted")
    # eval_set may return no log at all after Ctrl-C: the folder's cancelled log tells
    calls = _fake_eval_set(monkeypatch, (True, []))
    monkeypatch.setattr(running, "_statuses", lambda folder: {"cancelled"})
    assert main(["run", "offline", "--yes", "--log-dir", str(tmp_path)]) == 130
    assert len(calls) == 1


def test_a_run_is_complete_only_when_its_logs_say_success(tmp_path, monkeypatch, capsys):
    _fake_eval_set(monkeypatch, (True, ["error"]), (True, ["success"]), (False, ["success"]),
                   (True, ["success"]))  # fmt: skip
    assert main(["run", "offline", "--yes", "--log-dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "2 of 4 runs complete" in out
    assert f"unfinished: single-livenli-annotators (log status error); logs in {tmp_path}" in err
    assert "unfinished: sweep-livenli-annotators-temperature (eval_set did not complete it)" in err
