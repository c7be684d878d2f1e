"""The study's two prompts, verbatim, and their version hash.

``SYSTEM_PROMPT`` is the paper's Figure 6 and ``USER_PROMPT_TEMPLATE`` its Figure 7, with the
PDF's wrapped lines joined.  The system prompt contains a literal JSON object with braces, so
the messages are built here with plain string replacement rather than through Inspect's
template helpers (which would treat ``{...}`` as format fields).
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from dataclasses import dataclass, field

SYSTEM_PROMPT = """\
You are an expert at natural language inference tasks.
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

#: Figure 7; the two ``{}`` are filled with the premise (context) and hypothesis (statement).
USER_PROMPT_TEMPLATE = """\
Read the following Context and Statement (introduced respectively by the [CONTEXT] and [STATEMENT] tags):
[CONTEXT] {}
[STATEMENT] {}

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


def user_prompt(premise: str, hypothesis: str) -> str:
    """Figure 7 with ``[CONTEXT]`` = premise and ``[STATEMENT]`` = hypothesis.

    Filled positionally (first ``{}`` then the second), so braces inside the item's own text
    are left untouched.
    """
    head, middle, tail = USER_PROMPT_TEMPLATE.split("{}")
    return f"{head}{premise}{middle}{hypothesis}{tail}"


#: Short content hash of both prompts, recorded in every log so runs can be told apart.
PROMPT_VERSION = hashlib.sha256(
    (SYSTEM_PROMPT + "\x00" + USER_PROMPT_TEMPLATE).encode("utf-8")
).hexdigest()[:12]


def _version(system: str, user: str) -> str:
    return hashlib.sha256((system + "\x00" + user).encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class PromptSpec:
    """A dataset's prompts: a system text and a user template with ``{field}`` placeholders.

    Placeholders name the item's text fields; doubled braces ``{{ }}`` are literal braces.  The
    template is filled by substitution, never by ``str.format`` on the item's text, so braces
    inside an item stay as they are.  ``reply_format`` is the JSON the prompt asks for: ``nli``
    (the paper's Figure 6 object with ``classification`` and ``highlights``) or ``flat``
    (``{"label": ..., "explanation": ...}``), which the offline participants answer in.
    """

    system: str
    user: str
    version: str = ""
    reply_format: str = "flat"
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", template_fields(self.user))
        if not self.version:
            object.__setattr__(self, "version", _version(self.system, self.user))
        if self.reply_format not in ("nli", "flat"):
            raise ValueError(f"unknown reply format {self.reply_format!r}; choose nli or flat")

    def user_text(self, item: Mapping[str, object]) -> str:
        """The user prompt of one item (``item`` maps each placeholder to its text)."""
        pieces = []
        for literal, name, _, _ in string.Formatter().parse(self.user):
            pieces.append(literal)
            if name is not None:
                pieces.append(str(item[name]))
        return "".join(pieces)


def template_fields(template: str) -> tuple[str, ...]:
    """The placeholder names of a user template, in order of first use.

    Raises ValueError for a placeholder that is not a plain name (``{}``, ``{0}``, ``{a.b}``,
    ``{a!r}``, ``{a:>5}``) or for a single brace (write ``{{`` / ``}}`` for a literal one).
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"{error} (write {{{{ or }}}} for a literal brace)") from None
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise ValueError(f"placeholder {shown} is not a plain field name like {{text}}")
        if name not in names:
            names.append(name)
    return tuple(names)


def _nli_user_template() -> str:
    head, middle, tail = (
        part.replace("{", "{{").replace("}", "}}") for part in USER_PROMPT_TEMPLATE.split("{}")
    )
    return f"{head}{{premise}}{middle}{{hypothesis}}{tail}"


#: The paper's prompts (Figures 6 and 7) over the text fields ``premise`` and ``hypothesis``.
NLI_PROMPT = PromptSpec(
    system=SYSTEM_PROMPT, user=_nli_user_template(), version=PROMPT_VERSION, reply_format="nli"
)
