"""Offline participants: the ``partynli/...`` model API, replaying recorded annotations.

Two models, both fully offline, key-less and deterministic whatever the concurrency (each
reply is a pure function of the item and the epoch):

``partynli/livenli-annotators``
    At epoch *e* the model answers as the item's *e*-th LiveNLI worker (workers in id
    order, as :func:`~inspect_partynli.livenli_data.load_livenli` sorts them; wrapping around
    when *e* exceeds the item's number of workers), in exactly the JSON format the system
    prompt asks for: the worker's labels (sorted, hyphen-joined), explanation, and the
    premise / hypothesis with the worker's highlighted spans wrapped in ``<<`` ``>>``.
    With ``--epochs 10`` the run reproduces LiveNLI's label distribution for the 110
    items that have 10 workers.

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

Both take ``-M data=PATH`` for LiveNLI (default: ``$INSPECT_PARTYNLI_DATA`` or the cache, then
the file the task loaded with ``-T data=PATH``, then a download; see
:func:`~inspect_partynli.livenli_data.resolve_livenli`); an explicit path is loaded when the model
is created, so a wrong one stops the run with one message before any sample starts.  The item
is identified from the user prompt (its premise and hypothesis), so the model answers the
task's prompts whatever the sample ids; the epoch comes from Inspect's active sample (1
outside an eval).  Every output carries ``usage`` (whitespace word counts) so Inspect never
needs a tokenizer.
"""

from __future__ import annotations

import json
from functools import cached_property
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
from .errors import SourceError, UsageError, UserInputError
from .labels import ERROR_LABEL, NO_ANNOTATION, NO_ANNOTATION_KEY
from .livenli_data import DataNotFoundError, last_loaded, load_livenli
from .prompts import USER_PROMPT_TEMPLATE

ANNOTATORS = "livenli-annotators"
REPLAY = "replay"
MODELS = (ANNOTATORS, REPLAY)
#: Columns a replayed file must have.
REPLAY_COLUMNS = ("sent_id", "participant", "trial", "class_simple", "class_multi", "explanation")
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
    """Replies of the LiveNLI workers: the item's e-th worker at epoch e (wrapping)."""

    def __init__(self, livenli: pd.DataFrame) -> None:
        self.rows = {uid: rows.reset_index(drop=True) for uid, rows in livenli.groupby("uid")}

    def reply(self, uid: str, epoch: int) -> str:
        rows = self.rows[uid]
        row = rows.iloc[(epoch - 1) % len(rows)]
        return annotation_json(
            row["class_multi"],
            row["explanation"],
            mark_spans(row["premise"], row["highlight_p"]),
            mark_spans(row["hypothesis"], row["highlight_h"]),
        )


def read_annotations_file(path: str | Path) -> pd.DataFrame:
    """A PartyNLI-schema file (CSV, or parquet by its suffix), checked for the needed columns."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SourceError(f"replay file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"sent_id": str}, keep_default_na=False)
    except Exception as error:  # unreadable or not a table
        raise SourceError(f"cannot read replay file {path}: {error}") from None
    missing = [column for column in REPLAY_COLUMNS if column not in frame.columns]
    if missing:
        raise SourceError(
            f"{path} is not a PartyNLI annotation file: missing column(s) {', '.join(missing)}"
        )
    return frame


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

    def reply(self, uid: str, epoch: int, premise: str, hypothesis: str) -> str | None:
        """The recorded reply, or None where the source has no annotation for (uid, epoch)."""
        row = self.rows.get((uid, epoch))
        if row is None:
            return None
        explanation = "" if pd.isna(row["explanation"]) else str(row["explanation"])
        if str(row["class_simple"]) == ERROR_LABEL:
            return explanation
        return annotation_json(str(row["class_multi"]), explanation, premise, hypothesis)


@modelapi(name="partynli")
class PartyNLIModelAPI(ModelAPI):
    """``partynli/livenli-annotators`` and ``partynli/replay``: offline recorded participants."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = _DEFAULT_CONFIG,
        data: str | None = None,
        path: str | None = None,
        participant: str | None = None,
        experiment: str | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        try:  # bad -M arguments or files: one message on Inspect's command line
            self._configure(model_name, data, path, participant, experiment, model_args)
        except UserInputError as error:
            raise for_inspect(error) from None

    def _configure(
        self,
        model_name: str,
        data: str | None,
        path: str | None,
        participant: str | None,
        experiment: str | None,
        model_args: dict[str, Any],
    ) -> None:
        kind, _, name = model_name.partition("/")
        if kind not in MODELS or (kind == ANNOTATORS and name):
            raise UsageError(
                f"unknown model partynli/{model_name}; choose partynli/{ANNOTATORS} or "
                f"partynli/{REPLAY} -M path=FILE"
            )
        if model_args:
            raise UsageError(
                f"partynli/{model_name} does not take -M {', '.join(sorted(model_args))}; "
                "it takes data, path, participant, experiment"
            )
        if name and participant and name != participant:
            raise UsageError(f"participant given twice: {name!r} and {participant!r}")
        self.kind = kind
        self.data = data
        if data:  # an explicit -M data=PATH is checked now (no download), not mid-run
            self._livenli  # noqa: B018 - loads and caches LiveNLI, raising SourceError if bad
        if kind == REPLAY:
            if not path:
                raise UsageError("partynli/replay needs the file to replay: -M path=FILE")
            self.replay: Replay | None = Replay(
                read_annotations_file(path), participant or name or None, experiment
            )
        else:
            if path or participant or experiment:
                raise UsageError(f"partynli/{ANNOTATORS} takes only -M data=PATH")
            self.replay = None

    @cached_property
    def _livenli(self) -> pd.DataFrame:
        """LiveNLI from ``-M data``; else ``$INSPECT_PARTYNLI_DATA`` or the cache; else the file
        the task loaded in this process (its ``-T data``); else a download."""
        if self.data:
            return load_livenli(self.data)
        try:
            return load_livenli(download=False)
        except DataNotFoundError:
            task_file = last_loaded()
            return load_livenli(task_file) if task_file else load_livenli()

    @cached_property
    def _uids(self) -> dict[tuple[str, str], str]:
        firsts = self._livenli.groupby("uid", sort=True)[["premise", "hypothesis"]].first()
        return {(p, h): uid for uid, p, h in firsts.itertuples()}

    @cached_property
    def _annotators(self) -> Annotators:
        return Annotators(self._livenli)

    def identify(self, input: list[ChatMessage]) -> tuple[str, str, str]:
        """(uid, premise, hypothesis) of the item the last user message asks about."""
        users = [message for message in input if isinstance(message, ChatMessageUser)]
        for premise, hypothesis in prompt_pair(_text(users[-1])) if users else []:
            uid = self._uids.get((premise, hypothesis))
            if uid is not None:
                return uid, premise, hypothesis
        raise ValueError(
            f"partynli/{self.model_name} answers only the LiveNLI prompts of "
            f"inspect_partynli/livenli; this prompt (sample {_active_sample_id()}) names no "
            "LiveNLI item"
        )

    def reply(self, input: list[ChatMessage], epoch: int) -> str | None:
        """The recorded reply for the item of ``input`` at ``epoch`` (pure, deterministic);
        None where a replayed source has no annotation for that item and trial."""
        uid, premise, hypothesis = self.identify(input)
        if self.replay is not None:
            return self.replay.reply(uid, epoch, premise, hypothesis)
        return self._annotators.reply(uid, epoch)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        reply = self.reply(input, current_epoch())
        completion = reply or ""
        output = ModelOutput.from_content(model=self.model_name, content=completion)
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
