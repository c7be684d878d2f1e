"""Offline participants: the ``partynli/...`` model API, replaying recorded annotations.

Two models, both fully offline, key-less and deterministic whatever the concurrency (each
reply is a pure function of the item and the epoch), for any dataset
(:mod:`inspect_partynli.datasets`):

``partynli/annotators`` (alias ``partynli/livenli-annotators``)
    At epoch *e* the model answers as the item's *e*-th human annotator of the dataset's
    primary population (annotators in the dataset's order; wrapping around after the item's
    last; annotators without a label, e.g. VariErr's ``idk``, are not in it), in the JSON the
    dataset's prompt asks for.  For LiveNLI and VariErr that is the paper's Figure 6 format:
    the annotator's labels (hyphen-joined), explanation, and the premise / hypothesis with the
    annotator's highlighted spans (LiveNLI) wrapped in ``<<`` ``>>``; for a dataset card
    ``{"label": ..., "explanation": ...}``.  With ``--epochs 10`` on LiveNLI the run reproduces
    LiveNLI's label distribution for the 110 items that have 10 workers; with ``--epochs 4`` on
    VariErr, that of the 395 items with 4 annotators.

``partynli/replay -M path=FILE [-M participant=NAME] [-M experiment=NAME]``
    Replays a PartyNLI-schema CSV or parquet file (``sent_id, participant, trial,
    class_simple, class_multi, explanation``...) as a participant: epoch *e* = trial *e*.
    Rows whose ``class_simple`` is ``error`` are replayed as their stored text (the parse
    error), i.e. an unparseable reply that the scorer records as a parse failure.  A missing
    (item, trial) -- the source simply has no annotation there -- gives an empty reply marked
    ``output.metadata["partynli"] = "no_annotation"``: the scorer records it as
    ``no_annotation`` (not a parse failure) and the annotation table leaves it out, so the
    replayed participant has exactly the source's annotations.  ``partynli/replay/NAME`` is
    short for ``-M participant=NAME`` and puts the participant's name in the log's model.

Both also answer the prompts of the ``logprobs`` and ``verbalized`` estimators
(:mod:`inspect_partynli.estimators`, ``-T estimator=...``) as a model whose belief for an item
is the participant's label distribution -- the item's human distribution (annotators), or the
replayed participant's label shares over all its trials (replay) -- sharpened by ``-M
temperature=T`` (default 1: the distribution itself): ``logprobs`` gets the most probable label
with a first-token top-logprobs list of every label's log-probability, ``verbalized`` the
probabilities as JSON (:mod:`inspect_partynli.estimators.offline`).  So with temperature 1 both
estimators reproduce the participant's distribution item by item.  The temperature applies only
to these two prompts; an item the replayed participant never labelled gets the ``no_annotation``
reply.

Which dataset: the one the task runs.  The task's solver makes its
:class:`~inspect_partynli.datasets.DatasetRef` known for the sample being generated (a context
variable, never process-wide state), and the model loads that dataset.  ``-M dataset=NAME``
(``livenli``, ``varierr`` or a card ``.yaml``) and ``-M data=PATH`` (where the dataset's file
is) override it; an explicit one is loaded when the model is created, so a wrong one stops the
run with one message before any sample starts.  Outside a task the default is LiveNLI.  The
item is identified from the user prompt, so the model answers the task's prompts whatever the
sample ids; the epoch comes from Inspect's active sample (1 outside an eval).  Every output
carries ``usage`` (whitespace word counts) so Inspect never needs a tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.model import (
    ChatMessage,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from ._inspect_errors import for_inspect
from .datasets import DatasetRef, HLVDataset, is_card, load_dataset
from .errors import SourceError, UsageError, UserInputError
from .estimators import split_request
from .estimators.offline import logprobs_reply, sharpen, verbalized_reply
from .labels import ERROR_LABEL, NO_ANNOTATION, NO_ANNOTATION_KEY
from .prompts import USER_PROMPT_TEMPLATE

ANNOTATORS = "annotators"
#: Older name of ``partynli/annotators`` (LiveNLI was the only dataset), kept as an alias.
ANNOTATORS_ALIAS = "livenli-annotators"
REPLAY = "replay"
MODELS = (ANNOTATORS, ANNOTATORS_ALIAS, REPLAY)
HIGHLIGHT_OPEN, HIGHLIGHT_CLOSE = "<<", ">>"
_DEFAULT_CONFIG = GenerateConfig()


def mark_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each ``(start, end)`` character span (end exclusive) wrapped in ``<< >>``.

    Overlapping spans are merged; spans are clipped to the text; empty ones are dropped.

    >>> mark_spans("need not be prepared", [(0, 4), (12, 20)])
    '<<need>> not be <<prepared>>'
    """
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, cursor = [], 0
    for start, end in merged:
        pieces += [text[cursor:start], HIGHLIGHT_OPEN, text[start:end], HIGHLIGHT_CLOSE]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def annotation_json(label: str, explanation: str, context: str, statement: str) -> str:
    """A reply in exactly the format of the system prompt (Figure 6), indented like it."""
    reply = {
        "classification": {"label": label, "explanation": explanation},
        "highlights": {"context": context, "statement": statement},
    }
    return json.dumps(reply, indent=2, ensure_ascii=False)


def flat_json(labels: tuple[str, ...] | list[str], explanation: str) -> str:
    """A reply ``{"label": ..., "explanation": ...}`` (several labels as a JSON list)."""
    label: str | list[str] = labels[0] if len(labels) == 1 else list(labels)
    return json.dumps({"label": label, "explanation": explanation}, ensure_ascii=False)


def dataset_reply(
    dataset: HLVDataset, item_id: str, labels: tuple[str, ...], explanation: str,
    spans: tuple[list, list] | None = None,
) -> str:  # fmt: skip
    """An annotation of ``item_id`` in the JSON the dataset's prompt asks for.

    ``spans``: highlighted character spans of the premise and hypothesis (NLI format only).
    """
    if dataset.prompt.reply_format == "nli":
        item = dataset.items.loc[item_id]
        premise, hypothesis = str(item["premise"]), str(item["hypothesis"])
        if spans is not None:
            premise, hypothesis = mark_spans(premise, spans[0]), mark_spans(hypothesis, spans[1])
        return annotation_json(dataset.space.join(labels), explanation, premise, hypothesis)
    return flat_json(labels, explanation)


def prompt_pair(text: str) -> list[tuple[str, str]]:
    """Every (premise, hypothesis) split of a Figure 7 user prompt; [] if it is not one.

    Several splits are possible only if the premise itself contains the text that separates
    it from the hypothesis; the caller keeps the one that names a known item.
    """
    head, middle, tail = USER_PROMPT_TEMPLATE.split("{}")
    if not (text.startswith(head) and text.endswith(tail)) or len(text) < len(head + tail):
        return []
    body = text[len(head) : len(text) - len(tail)]
    pairs, start = [], body.find(middle)
    while start >= 0:
        pairs.append((body[:start], body[start + len(middle) :]))
        start = body.find(middle, start + 1)
    return pairs


def _text(message: ChatMessage) -> str:
    return message.text if hasattr(message, "text") else str(message.content)


def _word_count(text: str) -> int:
    return len(text.split())


def current_epoch() -> int:
    """The epoch of the sample being generated for (1 outside an eval).

    Read from Inspect's active-sample context, which is set per sample task, so it is
    correct however many samples run at once.
    """
    active = _active_sample()
    epoch = getattr(active, "epoch", None)
    return int(epoch) if epoch else 1


def _active_sample() -> Any:
    """Inspect's active sample (a private API, hence the guard), or None."""
    try:
        from inspect_ai.log._samples import sample_active
    except ImportError:  # pragma: no cover - a future Inspect that moved it
        return None
    return sample_active()


def _active_sample_id() -> str | None:
    sample = getattr(_active_sample(), "sample", None)
    return None if sample is None or sample.id is None else str(sample.id)


class Annotators:
    """Replies of a dataset's human annotators: the item's e-th annotator at epoch e (wrapping)."""

    def __init__(self, dataset: HLVDataset) -> None:
        self.dataset = dataset
        self.rows = dataset.annotators_by_item

    def reply(self, item_id: str, epoch: int) -> str:
        rows = self.rows[item_id]
        row = rows.iloc[(epoch - 1) % len(rows)]
        spans = (row["highlight_p"], row["highlight_h"]) if "highlight_p" in row.index else None
        return dataset_reply(self.dataset, item_id, row["labels"], row["explanation"], spans)

    def counts(self, item_id: str) -> list[float] | None:
        """The item's label counts over its annotators (primary population), in label order."""
        counts = self.dataset.population().counts
        if item_id not in counts.index:
            return None
        return [float(counts.at[item_id, label]) for label in self.dataset.labels]


def read_annotations_file(path: str | Path) -> pd.DataFrame:
    """A PartyNLI-schema file to replay, read by the one PartyNLI reader
    (:func:`~inspect_partynli.annotations.read_partynli_file`)."""
    from .annotations import read_partynli_file

    path = Path(path).expanduser()
    if not path.is_file():
        raise SourceError(f"replay file not found: {path}")
    return read_partynli_file(path)


def _experiments(rows: pd.DataFrame) -> str:
    if "experiment" not in rows.columns:
        return "the file has no experiment column"
    return ", ".join(sorted(rows["experiment"].astype(str).unique()))


class Replay:
    """Replies of one participant of a PartyNLI-schema file: trial e at epoch e."""

    def __init__(
        self, frame: pd.DataFrame, participant: str | None = None, experiment: str | None = None
    ) -> None:
        frame = frame.copy()
        frame["participant"] = frame["participant"].astype(str)
        participants = sorted(frame["participant"].unique())
        if participant is None:
            if len(participants) != 1:
                raise UsageError(
                    "the replay file holds several participants; choose one with "
                    f"-M participant=NAME: {', '.join(participants)}"
                )
            participant = participants[0]
        if participant not in participants:
            raise UsageError(
                f"participant {participant!r} is not in the replay file; it has: "
                f"{', '.join(participants)}"
            )
        rows = frame[frame["participant"] == participant]
        if experiment is not None:
            if "experiment" not in rows.columns or experiment not in set(rows["experiment"]):
                raise UsageError(
                    f"experiment {experiment!r} not found for {participant}; it has: "
                    f"{_experiments(rows)}"
                )
            rows = rows[rows["experiment"] == experiment]
        keys = list(zip(rows["sent_id"].astype(str), rows["trial"].astype(int), strict=True))
        if len(set(keys)) != len(keys):
            raise UsageError(
                f"{participant} has several rows for the same item and trial; choose one with "
                f"-M experiment=NAME ({_experiments(rows)})"
            )
        self.participant = participant
        self.rows = {key: row for key, row in zip(keys, rows.to_dict("records"), strict=True)}

    def reply(self, dataset: HLVDataset, item_id: str, epoch: int) -> str | None:
        """The recorded reply, or None where the source has no annotation for (item, epoch)."""
        row = self.rows.get((item_id, epoch))
        if row is None:
            return None
        explanation = "" if pd.isna(row["explanation"]) else str(row["explanation"])
        if str(row["class_simple"]) == ERROR_LABEL:
            return explanation
        multi = str(row["class_multi"])
        if dataset.prompt.reply_format == "nli":
            item = dataset.items.loc[item_id]
            premise, hypothesis = str(item["premise"]), str(item["hypothesis"])
            return annotation_json(multi, explanation, premise, hypothesis)
        try:
            labels = tuple(sorted(dataset.space.split(multi), key=dataset.space.index.get))
        except ValueError:  # not this dataset's labels: replayed as written, the scorer judges
            labels = (multi,)
        return flat_json(labels, explanation)

    def counts(self, dataset: HLVDataset, item_id: str) -> list[float] | None:
        """The participant's single-label counts for the item over all its trials, in the
        dataset's label order (parse failures left out); None when it has none."""
        rows = [row for (item, _), row in self.rows.items() if item == item_id]
        labels = [str(row["class_simple"]) for row in rows]
        counts = [float(labels.count(label)) for label in dataset.labels]
        return counts if sum(counts) > 0 else None


@modelapi(name="partynli")
class PartyNLIModelAPI(ModelAPI):
    """``partynli/annotators`` and ``partynli/replay``: offline recorded participants."""

    #: They answer the ``logprobs`` estimator with log-probabilities (see the module doc).
    returns_logprobs = True

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = _DEFAULT_CONFIG,
        data: str | None = None,
        dataset: str | None = None,
        path: str | None = None,
        participant: str | None = None,
        experiment: str | None = None,
        temperature: float | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        self._datasets: dict[object, HLVDataset] = {}
        self._lookups: dict[int, dict[str, str]] = {}
        try:  # bad -M arguments or files: one message on Inspect's command line
            self._configure(model_name, data, dataset, path, participant, experiment, model_args)
            self.temperature = _temperature(temperature)
        except UserInputError as error:
            raise for_inspect(error) from None

    def _configure(
        self,
        model_name: str,
        data: str | None,
        dataset: str | None,
        path: str | None,
        participant: str | None,
        experiment: str | None,
        model_args: dict[str, Any],
    ) -> None:
        kind, _, name = model_name.partition("/")
        if kind not in MODELS or (kind != REPLAY and name):
            raise UsageError(
                f"unknown model partynli/{model_name}; choose partynli/{ANNOTATORS} or "
                f"partynli/{REPLAY} -M path=FILE"
            )
        if model_args:
            raise UsageError(
                f"partynli/{model_name} does not take -M {', '.join(sorted(model_args))}; "
                "it takes dataset, data, path, participant, experiment, temperature"
            )
        if name and participant and name != participant:
            raise UsageError(f"participant given twice: {name!r} and {participant!r}")
        self.kind = REPLAY if kind == REPLAY else ANNOTATORS
        self.data = data
        self.dataset_spec = dataset or (data if data and is_card(data) else None)
        if dataset or data:  # an explicit dataset or file is checked now (no download)
            self.dataset_for(None)
        if kind == REPLAY:
            if not path:
                raise UsageError("partynli/replay needs the file to replay: -M path=FILE")
            self.replay: Replay | None = Replay(
                read_annotations_file(path), participant or name or None, experiment
            )
        else:
            if path or participant or experiment:
                raise UsageError(
                    f"partynli/{kind} takes only -M dataset=NAME, -M data=PATH and "
                    "-M temperature=T"
                )
            self.replay = None

    def dataset_for(self, ref: DatasetRef | None) -> HLVDataset:
        """The dataset to answer from: ``-M dataset`` / ``-M data`` if given, else the task's
        (``ref``), else LiveNLI."""
        key: object = ref
        if key not in self._datasets:
            if self.dataset_spec:
                dataset = load_dataset(self.dataset_spec, data=self.data)
            elif self.data:
                kind = ref.kind if ref is not None and ref.kind != "card" else _kind_of(self.data)
                dataset = load_dataset(kind, data=self.data)
            elif ref is not None:
                dataset = load_dataset(ref)
            else:
                dataset = load_dataset("livenli")
            self._datasets[key] = dataset
        return self._datasets[key]

    def _lookup(self, dataset: HLVDataset) -> dict[str, str]:
        """User prompt -> item id, for every item of ``dataset``."""
        key = id(dataset)
        if key not in self._lookups:
            fill = dataset.prompt.user_text
            self._lookups[key] = {
                fill(row): str(item_id) for item_id, row in dataset.items.iterrows()
            }
        return self._lookups[key]

    def identify(self, input: list[ChatMessage], dataset: HLVDataset | None = None) -> str:
        """The id of the item the last user message asks about."""
        dataset = dataset or self.dataset_for(_task_dataset())
        users = [message for message in input if isinstance(message, ChatMessageUser)]
        _, text = split_request(_text(users[-1])) if users else (None, "")
        item_id = self._lookup(dataset).get(text) if users else None
        if item_id is None:
            raise ValueError(
                f"partynli/{self.model_name} answers only the prompts of its dataset "
                f"({dataset.name}); this prompt (sample {_active_sample_id()}) names no "
                f"{dataset.name} item"
            )
        return item_id

    def reply(self, input: list[ChatMessage], epoch: int) -> str | None:
        """The recorded reply for the item of ``input`` at ``epoch`` (pure, deterministic);
        None where a replayed source has no annotation for that item and trial."""
        dataset = self.dataset_for(_task_dataset())
        item_id = self.identify(input, dataset)
        if self.replay is not None:
            return self.replay.reply(dataset, item_id, epoch)
        return Annotators(dataset).reply(item_id, epoch)

    def estimate(self, input: list[ChatMessage], estimator: str) -> ModelOutput | None:
        """The answer to an estimator prompt: the participant's distribution for the item,
        sharpened by the temperature (None where a replayed participant has no label)."""
        dataset = self.dataset_for(_task_dataset())
        item_id = self.identify(input, dataset)
        if self.replay is not None:
            counts = self.replay.counts(dataset, item_id)
        else:
            counts = Annotators(dataset).counts(item_id)
        if counts is None:
            return None
        labels = dataset.labels
        if estimator == "logprobs":
            text, logprobs = logprobs_reply(labels, counts, self.temperature)
            output = ModelOutput.from_content(model=self.model_name, content=text)
            output.choices[0].logprobs = logprobs
            return output
        content = verbalized_reply(labels, counts, self.temperature)
        return ModelOutput.from_content(model=self.model_name, content=content)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        users = [message for message in input if isinstance(message, ChatMessageUser)]
        estimator, _ = split_request(_text(users[-1])) if users else (None, "")
        if estimator is not None:
            answer = self.estimate(input, estimator)
            reply = None if answer is None else answer.completion
        else:
            answer, reply = None, self.reply(input, current_epoch())
        completion = reply or ""
        output = answer or ModelOutput.from_content(model=self.model_name, content=completion)
        if reply is None:
            output.metadata = {NO_ANNOTATION_KEY: NO_ANNOTATION}
        prompt_words = sum(_word_count(_text(message)) for message in input)
        output.usage = ModelUsage(
            input_tokens=prompt_words,
            output_tokens=_word_count(completion),
            total_tokens=prompt_words + _word_count(completion),
        )
        return output

    def max_connections(self) -> int:
        """Replies are instant: let many samples run at once."""
        return 64


def _temperature(value: object) -> float:
    """The ``-M temperature`` of the estimator answers (default 1); UsageError if not >= 0."""
    if value is None:
        return 1.0
    try:
        sharpen((1.0,), value)  # type: ignore[arg-type]
    except ValueError:
        raise UsageError(f"-M temperature must be a number >= 0, got {value!r}") from None
    return float(value)  # type: ignore[arg-type]


def _kind_of(data: str) -> str:
    """The built-in dataset a ``-M data=PATH`` file is (by its name): VariErr's JSON, else
    LiveNLI (a CSV, or a folder)."""
    return "varierr" if Path(data).suffix.lower() in (".json", ".jsonl") else "livenli"


def _task_dataset() -> DatasetRef | None:
    """The dataset of the sample being generated for, as its task's solver set it."""
    from .solver import ACTIVE_DATASET

    return ACTIVE_DATASET.get()
