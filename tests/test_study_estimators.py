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
