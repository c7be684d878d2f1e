"""The cost plan of ``partynli run --dry-run``: per model its requests, estimated input and
output tokens, and estimated cost when the study gives the model's ``prices``.

Every figure is an estimate, and labelled so:

* input tokens: the characters of the two prompts of each item (Figures 6 and 7, filled with
  the item) divided by :data:`CHARS_PER_TOKEN`, times the run's epochs;
* output tokens: the characters of the replies the LiveNLI annotators' offline participant
  replays for each item (``partynli/livenli-annotators``: the JSON the prompt asks for, with
  the workers' explanations and highlights), averaged per item, likewise divided;
* cost: input and output tokens times ``prices.input`` / ``prices.output`` (USD per million
  tokens) of the model in the study file.

Tokenisers differ by model (and reasoning models also bill hidden reasoning tokens), so
these are planning figures, not a bill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .running import PlannedRun
from .schema import Study

#: Characters per token of English text (OpenAI's rule of thumb), for the estimates.
CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True)
class ItemTokens:
    """Estimated tokens of one request per item: prompt (input) and reply (output)."""

    input: dict[str, float]
    output: dict[str, float]


def item_tokens(study: Study) -> ItemTokens:
    """Estimated input and output tokens of one request for each item of the study's task
    (its dataset's prompts and items; the replies of its offline annotators)."""
    from ..datasets import load_dataset
    from ..providers import Annotators

    dataset = load_dataset(study.dataset or "livenli", data=study.data)
    annotators = Annotators(dataset)
    prompt = dataset.prompt
    inputs, outputs = {}, {}
    for uid in dataset.subset(study.subset):
        item = dataset.items.loc[uid]
        inputs[uid] = len(prompt.system + prompt.user_text(item)) / CHARS_PER_TOKEN
        workers = len(annotators.rows.get(uid, ()))
        replies = [annotators.reply(uid, worker) for worker in range(1, workers + 1)]
        outputs[uid] = sum(map(len, replies)) / max(1, len(replies)) / CHARS_PER_TOKEN
    return ItemTokens(inputs, outputs)


@dataclass
class ModelCost:
    """One model's line of the cost plan (requests still to run, estimated tokens, cost)."""

    name: str
    model_id: str
    requests: int = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    cost: float | None = None


def cost_plan(study: Study, runs: Sequence[PlannedRun], tokens: ItemTokens) -> list[ModelCost]:
    """Per model (in order of appearance): the requests its unfinished runs will send, with
    their estimated tokens and, if the model has ``prices``, the estimated cost in USD."""
    per_request_in = sum(tokens.input.values()) / max(1, len(tokens.input))
    per_request_out = sum(tokens.output.values()) / max(1, len(tokens.output))
    table: dict[tuple[str, str], ModelCost] = {}
    for run in runs:
        model = run.config.model
        row = table.setdefault((model.name, model.id), ModelCost(model.name, model.id))
        if run.done:
            continue
        row.requests += run.requests
        row.input_tokens += run.requests * per_request_in
        row.output_tokens += run.requests * per_request_out
        if model.prices:
            cost = (row.input_tokens * model.prices["input"]
                    + row.output_tokens * model.prices["output"]) / 1e6  # fmt: skip
            row.cost = cost
    return list(table.values())


def format_cost_plan(rows: Sequence[ModelCost]) -> str:
    """The cost plan as text, every figure marked as an estimate (``~``)."""
    from .running import _aligned

    def tokens(value: float) -> str:
        return f"~{value:,.0f}"

    table = [
        ("model", "inspect id", "requests", "input tokens (est.)", "output tokens (est.)",
         "cost USD (est.)"),  # fmt: skip
        *[
            (r.name, r.model_id, r.requests, tokens(r.input_tokens), tokens(r.output_tokens),
             "-" if r.cost is None else f"~{r.cost:,.2f}")  # fmt: skip
            for r in rows
        ],
    ]
    priced = [r.cost for r in rows if r.cost is not None]
    total = (
        "total", "", sum(r.requests for r in rows), tokens(sum(r.input_tokens for r in rows)),
        tokens(sum(r.output_tokens for r in rows)), f"~{sum(priced):,.2f}" if priced else "-",
    )  # fmt: skip
    table.append(total)
    lines = [
        "Cost plan (estimates: ~4 characters per token; output as long as the LiveNLI "
        "annotators' replayed replies; cost from the study's prices per million tokens):",
        *_aligned(table, left=2),
    ]
    if len(priced) < len(rows):
        lines.append("  (models without `prices` in the study file have no cost estimate)")
    return "\n".join(lines)
