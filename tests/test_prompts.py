"""The prompts: verbatim Figures 6 and 7, and the exact text that reaches the model."""

from __future__ import annotations

import hashlib
import re

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log

from conftest import SHARED
from inspect_partynli.prompts import (
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    USER_PROMPT_TEMPLATE,
    user_prompt,
)
from inspect_partynli.task import livenli

#: The paper's Figure 6, typed from the PDF.
EXPECTED_SYSTEM = """You are an expert at natural language inference tasks.
Always provide your responses as valid JSON that can be parsed by Python's json.loads() function.

Your response format should be:
{
  "classification": {
    "label": "...",
    "explanation": "..."
  },
  "highlights": {
    "context": "...",
    "statement": "..."
  }
}

For classification labels:
- If selecting multiple classes, sort them alphabetically and join with hyphens (e.g., "either-false-true")

For highlights:
- Mark highlighted segments with '<<' at the beginning and '>>' at the end
- Only highlight the most important words/phrases mentioned in explanations

CRITICAL: Respond with ONLY the raw JSON object. Do not use markdown formatting, code blocks, or any wrapper text.

Do NOT wrap your response in:
- ```json ... ```
- ``` ... ```
- Any markdown formatting
- Any explanatory text before or after the JSON"""  # noqa: E501

#: Figure 7 filled with the first LiveNLI item, 10164e (wrapped PDF lines joined).
EXPECTED_USER_10164E = """Read the following Context and Statement (introduced respectively by the [CONTEXT] and [STATEMENT] tags):
[CONTEXT] findings, the Administrator has determined that an environmental impact statement need not be prepared.
[STATEMENT] The Administrator believes a environmental impact statement should not be prepared.

Choose one or more from the following:

If you feel uncertain and you feel that multiple options apply, choose them all instead, even though it might feel contradictory.
Assuming the context is true, the statement:

- true: is most likely to be true
- either: can be either true or false
- false: is most likely false

Explain, in a few sentences, why you chose your answer.
If you chose more than one option, elaborate in which circumstances each option is possible.
Explain all the options you chose.
Your explanation should include new information and refer to specific parts of the sentences. It should NOT simply repeat the sentences.
Avoid "The context and statement means the same/opposite thing". Specify which part of the context and statement means the same/opposite thing.
Avoid "Just because X doesn't mean Y". Say under what circumstances X does not mean Y, or say that X can mean Y or Z.
Avoid "The statement is ambiguous/it's not clear what it means". Elaborate what the possible meanings are and why it is ambiguous.

Highlight the words in the Context and Statement that are relevant to your explanations.
Your explanations should refer to specific words/parts of sentences.
Highlight those words and phrases that your explanations mentioned.
Only highlight the words that are most important for the explanations."""  # noqa: E501

PREMISE_10164E = (
    "findings, the Administrator has determined that an environmental impact statement "
    "need not be prepared."
)
HYPOTHESIS_10164E = (
    "The Administrator believes a environmental impact statement should not be prepared."
)


@pytest.fixture(scope="module")
def logged_sample(tmp_path_factory):
    """The first sample of a real (offline) eval, read back from its log."""
    log_dir = tmp_path_factory.mktemp("prompt-logs")
    (log,) = inspect_eval(
        livenli(epochs=1),
        model="partynli/livenli-annotators",
        limit=1,
        log_dir=str(log_dir),
        display="none",
    )
    assert log.status == "success"
    return read_eval_log(log.location, resolve_attachments=True).samples[0]


def test_exact_text_that_reaches_the_model(logged_sample):
    assert logged_sample.id == "10164e"
    (model_event,) = [event for event in logged_sample.events if event.event == "model"]
    assert [message.role for message in model_event.input] == ["system", "user"]
    system, user = model_event.input
    assert system.text == EXPECTED_SYSTEM
    assert user.text == EXPECTED_USER_10164E
    # the sample's own messages say the same
    assert [m.text for m in logged_sample.messages[:2]] == [EXPECTED_SYSTEM, EXPECTED_USER_10164E]


def test_constants_match_the_expected_text():
    assert SYSTEM_PROMPT == EXPECTED_SYSTEM
    assert user_prompt(PREMISE_10164E, HYPOTHESIS_10164E) == EXPECTED_USER_10164E
    assert USER_PROMPT_TEMPLATE.count("{}") == 2


def _paper_figure(caption: str) -> str:
    """A numbered-listing figure of the paper, wrapped lines joined (they start lowercase)."""
    papers = sorted((SHARED / "paper").glob("*.txt"))
    if not papers:
        pytest.skip("the paper's text is not in ../shared/paper")
    text = papers[0].read_text(encoding="utf-8")
    head = text[: text.index(caption)]
    listing = head[head.rindex("\n1 ") :]  # from the listing's line 1 to the caption
    lines: list[str] = []
    for raw in listing.splitlines():
        match = re.match(r"^(\d+) ?(.*)$", raw)
        if not match:
            continue
        content = match.group(2)
        if lines and content[:1].islower():
            lines[-1] += " " + content
        else:
            lines.append(content)
    return "\n".join(lines)


def test_system_prompt_is_figure_6():
    figure = _paper_figure("Figure 6: System prompt")
    # the PDF text drops one space of indentation from listing lines 10 to 14
    assert [line.strip() for line in figure.splitlines()] == [
        line.strip() for line in SYSTEM_PROMPT.splitlines()
    ]


def test_user_prompt_is_figure_7():
    assert _paper_figure("Figure 7: User prompt") == USER_PROMPT_TEMPLATE


def test_fill_is_positional_and_leaves_braces_alone():
    filled = user_prompt("{} {0} {premise}", "}{")
    assert "[CONTEXT] {} {0} {premise}\n[STATEMENT] }{\n" in filled
    assert filled.count("[CONTEXT]") == 2  # the tag in the first sentence plus the filled one


def test_prompt_version_is_a_hash_of_both_prompts():
    digest = hashlib.sha256((SYSTEM_PROMPT + "\x00" + USER_PROMPT_TEMPLATE).encode()).hexdigest()
    assert PROMPT_VERSION == digest[:12]
    assert re.fullmatch(r"[0-9a-f]{12}", PROMPT_VERSION)
