"""The estimators on the wire: Inspect's real openai client against the local
OpenAI-compatible test server (127.0.0.1 only), which returns ``logprobs``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from inspect_ai import eval as inspect_eval

from inspect_partynli.datasets import load_dataset
from inspect_partynli.estimators import split_request
from inspect_partynli.estimators.offline import verbalized_reply
from inspect_partynli.task import livenli
from inspect_partynli.testing import Reply, WireServer


class EstimatorParticipant:
    """Answers the estimator prompts with the item's LiveNLI distribution: ``logprobs`` with
    the most frequent label alone first (the server reports the distribution as that token's
    top-logprobs), ``verbalized`` with the JSON of the offline participants."""

    def __init__(self) -> None:
        self.dataset = load_dataset("livenli")
        fill = self.dataset.prompt.user_text
        self.items = {fill(row): str(item) for item, row in self.dataset.items.iterrows()}
        self.counts = self.dataset.population().counts

    def __call__(self, body: Mapping[str, Any]) -> Reply:
        user = [m for m in body["messages"] if m.get("role") == "user"][-1]["content"]
        estimator, text = split_request(user)
        counts = self.counts.loc[self.items[text], list(self.dataset.labels)]
        shares = {label: float(n) / float(counts.sum()) for label, n in counts.items()}
        if estimator == "verbalized":
            return Reply(verbalized_reply(self.dataset.labels, list(shares.values())))
        best = max(shares, key=shares.get)
        return Reply(f"{best}\nThe context suggests it.", label=best, label_probs=shares)


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("WIRE_API_KEY", "test-key")
    with WireServer(EstimatorParticipant(), models=("scripted",)) as s:
        yield s


@pytest.mark.parametrize("estimator", ["logprobs", "verbalized"])
def test_estimators_through_the_openai_client(server, tmp_path, estimator):
    (log,) = inspect_eval(
        livenli(subset="chaosnli", estimator=estimator, epochs=1),
        model="openai-api/wire/scripted",
        model_base_url=server.base_url,
        limit=5,
        display="none",
        log_dir=str(tmp_path),
    )
    assert log.status == "success"
    bodies = server.bodies()
    assert len(bodies) == 5
    for body in bodies:
        if estimator == "logprobs":
            assert body["logprobs"] is True and body["top_logprobs"] == 20
        else:
            assert "logprobs" not in body and "top_logprobs" not in body
        assert "temperature" not in body
    counts = load_dataset("livenli").population().counts
    for sample in log.samples:
        value = sample.scores["estimator_scorer"].value
        assert value["parsed"] == 1 and value["estimator"] == estimator
        expected = counts.loc[str(sample.id)].astype(float)
        expected = expected / expected.sum()
        for label, share in expected.items():
            assert value[f"p_{label}"] == pytest.approx(share, abs=1e-9)
