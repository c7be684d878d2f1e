"""A model's reply -> a parsed annotation, or a parse failure with a reason category (pure).

The system prompt (paper, Figure 6) asks for one raw JSON object::

    {"classification": {"label": "either-true", "explanation": "..."},
     "highlights": {"context": "... <<span>> ...", "statement": "... <<span>> ..."}}

Real replies are messier.  :func:`parse_reply` accepts every reply whose annotation is
unambiguous and classifies every other one under one of :data:`FAILURE_REASONS`.  It never
raises.  What is accepted, and why:

* **Wrappers**: code fences (```` ```json ````), text before or after the object, and reasoning
  blocks ``<think>...</think>`` (also ``<thinking>``, ``<reasoning>``; an orphan ``</think>``
  drops everything before it) are ignored.  The object is found by a quote-aware brace scanner.
* **Lenient JSON**: single-quoted strings (Python-literal dicts), trailing commas, ``True`` /
  ``False`` / ``None``, unquoted keys, raw newlines in strings, and unescaped double quotes
  inside a string (a quote counts as closing a string only when the next non-blank character
  is ``,`` ``}`` ``]`` ``:`` or the end -- always true in valid JSON, so valid JSON is never
  misread).
* **Where the label is**: ``classification.label`` (or ``labels``), a string or list under
  ``classification`` itself, or ``label`` at the top level; the answer may also be nested
  inside another object.  Keys are case-insensitive.  When a reply holds several answer
  objects they must agree on the label set (else ``conflicting``).
* **Label spellings** (see :func:`normalise_label`): any case; entailment / neutral /
  contradiction; the prompt's own option texts ("is most likely to be true", "can be either
  true or false", "is most likely false"); combinations in any order, joined by ``-`` ``,``
  ``|`` ``/`` ``;`` ``+`` ``&`` or " and ", or given as a JSON list; duplicates collapse;
  "true: is most likely to be true" and "Label: true" (but not "true: is most likely
  false").  Single letters (``e``/``n``/``c``) are refused: in this study ``e`` could mean
  *either*.  Anything else in the label (``none``, ``unknown``, ``true-maybe``) fails it.
* **A bare label** with no JSON at all (the whole reply is e.g. ``True`` or ``either-true``)
  is accepted with an empty explanation.
* **Highlights** are optional: spans marked ``<<...>>`` in ``highlights.context`` /
  ``.statement`` (``premise`` / ``hypothesis`` accepted as key aliases); a list value is a list
  of spans (markers optional).  Spans not found in the premise / hypothesis (case- and
  whitespace-insensitive) are reported in ``unmatched_highlights`` but do not fail the reply.

Truncation (decision): a reply that was cut off -- an object whose braces never close, an
unclosed ``<think>`` block, or no complete answer when the provider's stop reason is
``max_tokens`` / ``model_length`` -- is a ``truncated`` failure, even when an inner
``classification`` object happens to be complete: the annotation (explanation, highlights) is
incomplete, and raising the token limit gives the real answer.  The recoverable label is still
reported in ``raw_label`` and ``detail``.  A complete answer is accepted whatever the stop
reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from inspect_partynli.labels import ERROR_LABEL, NLI, LabelSpace

#: Every failure category, in one place.  ``""`` means parsed.
FAILURE_REASONS: tuple[str, ...] = (
    "empty",  # nothing but whitespace (or only a reasoning block)
    "truncated",  # cut off: unclosed object or <think>, or a length stop without an answer
    "no_json",  # no JSON object and no bare label
    "bad_json",  # an object is there but cannot be read even leniently
    "no_label",  # JSON read, but no label field, or an empty one
    "unknown_label",  # not (a combination of) the dataset's labels, or several where it takes one
    "conflicting",  # several answer objects with different label sets
    "refused",  # the provider refused or filtered the reply (stop reason content_filter)
    "parser_error",  # an unexpected internal error (a bug; never expected)
)

#: Provider stop reasons (Inspect's ``StopReason``) that mean the reply was cut off.
TRUNCATING_STOP_REASONS: frozenset[str] = frozenset({"max_tokens", "model_length"})

#: Keys of the highlights object, with aliases.
HIGHLIGHT_KEYS: dict[str, tuple[str, ...]] = {
    "context": ("context", "premise"),
    "statement": ("statement", "hypothesis"),
}

_LABEL_KEYS = frozenset({"label", "labels", "answer", "classification"})
_SEPARATORS = re.compile(r"\s*(?:[-,|/;+&]|\band\b)\s*")
_TOKEN_JUNK = " \t\r\n\"'`*_.,:;!?()[]{}<>\u201c\u201d\u2018\u2019"
#: A reasoning tag, opening or closing (group 1 is "/" for a closing tag, group 2 the name).
#: Blocks are matched by a linear pass over these tags, never by a backtracking regex.
_THINK_TAG = re.compile(r"<(/?)(think|thinking|reasoning)>", re.IGNORECASE)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*")
_SPAN_OPEN, _SPAN_CLOSE = "<<", ">>"
_OPENERS = re.compile(r"[{\[]+")
_PARENTHESIS = re.compile(r"\((.*?)(?:\)|$)")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_CLOSERS = frozenset(",}]:")
_JSON_ESCAPES = frozenset('"\\/bfnrtu')
_JSON_LITERALS = frozenset({"true", "false", "null"})
_STRING_ESCAPES = {'"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PLAIN_IN_STRING = re.compile(r"[^\"'\\\n\r\t]+")
# Outside strings: a run of ordinary characters (group 1), else a bare word (group 2) and the
# blanks after it (group 3) -- one match per step.
_OUTSIDE_TOKEN = re.compile(r"((?:[^\"'{}\[\]\w]|\d)+)|(\w+)([ \t\r\n]*)")
_BLANKS = re.compile(r"[ \t\r\n]*")
_MAX_OBJECTS = 200  # complete top-level objects examined per reply
_MAX_INNER = 20  # inner objects kept to report the label of a truncated reply
_MAX_DEPTH = 50  # nesting searched for the answer object
# Caps on the work per reply (every step below is linear in the reply; these bound the rest).
_MAX_LABEL_CHARS = 1_000  # a label (or a bare-label reply) longer than this is not a label
_MAX_SPANS = 1_000  # highlight spans kept per field
_MAX_REPLY_CHARS = 8_000_000  # longer replies are refused before any scanning


@dataclass(frozen=True)
class ParsedReply:
    """One reply as an annotation.  ``parsed`` is False exactly when ``failure`` is set."""

    parsed: bool
    labels: frozenset[str] = frozenset()
    multi_label: str = ERROR_LABEL
    label: str = ERROR_LABEL
    explanation: str = ""
    highlights: dict[str, list[str]] = field(
        default_factory=lambda: {"context": [], "statement": []}
    )
    unmatched_highlights: dict[str, list[str]] = field(
        default_factory=lambda: {"context": [], "statement": []}
    )
    failure: str = ""
    detail: str = ""
    raw_label: str = ""


class _LabelError(ValueError):
    """A label value that cannot be normalised; ``reason`` is a failure category."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------------- labels


def _exact_label(token: str, space: LabelSpace) -> str | None:
    """The label a word or phrase names in ``space`` (a label, or one of its synonyms such as
    "entailment" or the NLI prompt's "is most likely false")."""
    token = " ".join(token.split()).strip(_TOKEN_JUNK)
    token = re.sub(r"^(?:the statement|statement)\s+", "", token)
    return space.words.get(token)


def _label_of_token(token: str, space: LabelSpace) -> str | None:
    """The label of one token (no separators), also in the forms "either (can be ...)",
    "true: is most likely to be true" (head and tail, or a label and its parenthesis, must not
    name different labels: "true (false)" is unknown) and "label: true"."""
    found = _exact_label(token, space)
    if found is None and "(" in token:
        bare = _PARENTHESIS.sub(" ", token)
        found = _exact_label(bare, space) if bare.strip(_TOKEN_JUNK) else None
        asides = {_exact_label(aside, space) for aside in _PARENTHESIS.findall(token)} - {None}
        if found is not None and asides - {found}:
            return None
    if found is None and ":" in token:
        head, _, tail = token.partition(":")
        head_label, tail_label = _exact_label(head, space), _exact_label(tail, space)
        if head_label and tail_label in (None, head_label):
            found = head_label
        elif head.strip(_TOKEN_JUNK) in _LABEL_KEYS:
            found = tail_label
    return found


def normalise_label(value: Any, space: LabelSpace = NLI) -> frozenset[str]:
    """The label set written in ``value`` (a string, a list of strings, or a JSON boolean).

    Raises :class:`ValueError` (with ``reason`` ``no_label`` or ``unknown_label``) when the
    value is empty or holds anything that is not one of the labels of ``space`` (default:
    the study's NLI labels) or their synonyms.

    >>> sorted(normalise_label("True, Either"))
    ['either', 'true']
    """
    if isinstance(value, bool):  # "label": true -- a JSON boolean, unambiguous if a label
        word = "true" if value else "false"
        if word not in space.index:
            raise _LabelError("unknown_label", f"label is the JSON boolean {word}")
        return frozenset({word})
    if value is None:
        raise _LabelError("no_label", "the label is null")
    if isinstance(value, (list, tuple)):
        chosen: set[str] = set()
        for item in value:
            try:
                chosen |= normalise_label(item, space)
            except _LabelError as exc:
                if exc.reason != "no_label":  # empty list items are skipped
                    raise
        if not chosen:
            raise _LabelError("no_label", "the label list is empty")
        return frozenset(chosen)
    if not isinstance(value, str):
        raise _LabelError("unknown_label", f"label is a {type(value).__name__}: {value!r}")
    if len(value) > _MAX_LABEL_CHARS:  # no label is this long (and tokens are costly to read)
        raise _LabelError(
            "unknown_label", f"the label is {len(value):,} characters long: not a label"
        )
    text = " ".join(value.lower().split()).strip(_TOKEN_JUNK)
    if not text:
        raise _LabelError("no_label", "the label is empty")
    whole = _exact_label(text, space)  # a phrase or label may itself contain a separator
    if whole is not None:
        return frozenset({whole})
    chosen = set()
    for token in _SEPARATORS.split(text):
        if not token.strip(_TOKEN_JUNK):
            continue
        label = _label_of_token(token, space)
        if label is None:
            raise _LabelError("unknown_label", f"unknown label {token.strip()!r} in {value!r}")
        chosen.add(label)
    if not chosen:
        raise _LabelError("no_label", f"no label in {value!r}")
    return frozenset(chosen)


# ------------------------------------------------------------------- lenient JSON scanning


def _closes_string(text: str, index: int) -> bool:
    """Whether the quote at ``index`` ends a string: next non-blank char is , } ] : or the end."""
    j = _BLANKS.match(text, index + 1).end()
    return j >= len(text) or text[j] in _CLOSERS


def _drop_trailing_comma(out: list[str]) -> None:
    while out and not out[-1].strip():
        out.pop()
    if out:
        last = out[-1].rstrip()
        if last.endswith(","):
            out[-1] = last[:-1]


def _scan_object(text: str, start: int) -> tuple[int | None, str, list[str]]:
    """Scan the object opening at ``text[start] == "{"``.

    Returns (end index or None, repaired JSON text, the repaired JSON of every inner object
    that closed, innermost first -- only filled when the object itself never closes).

    The returned JSON text is a repaired copy (double quotes, no trailing commas, JSON
    literals, quoted bare keys and bare words).  ``None`` as the end means the object never
    closes.  Runs of ordinary characters are copied in one step (regex), so long strings are
    cheap.
    """
    out: list[str] = []
    opened: list[int] = []  # out index of each open "{" or "["
    inner: list[tuple[int, int]] = []  # out ranges of closed inner objects
    depth = 0
    quote = ""
    i = start
    n = len(text)
    while i < n:
        if quote:  # inside a string
            plain = _PLAIN_IN_STRING.match(text, i)
            if plain:
                out.append(plain.group())
                i = plain.end()
                continue
            ch = text[i]
            if ch == "\\" and i + 1 < n:
                nxt = text[i + 1]
                if nxt == "'":  # \' is Python, not JSON
                    out.append("'")
                elif nxt in _JSON_ESCAPES:
                    out.append("\\" + nxt)
                else:  # a stray backslash: keep it literally
                    out.append("\\\\" + nxt)
                i += 2
                continue
            if ch == quote and _closes_string(text, i):
                out.append('"')
                quote = ""
            else:
                out.append(_STRING_ESCAPES.get(ch, ch))
            i += 1
            continue
        token = _OUTSIDE_TOKEN.match(text, i)
        if token and token.group(1) is not None:  # a run of ordinary characters
            out.append(token.group(1))
            i = token.end()
            continue
        ch = text[i]
        if ch in "\"'":
            quote = ch
            out.append('"')
        elif ch in "{[":  # a run of openers in one step ("{" x 100k is cheap)
            run = _OPENERS.match(text, i).group()
            opened.extend(range(len(out), len(out) + len(run)))
            out.extend(run)
            depth += len(run)
            i += len(run)
            continue
        elif ch in "}]":
            _drop_trailing_comma(out)
            out.append(ch)
            depth -= 1
            if depth == 0:
                return i, "".join(out), []
            begin = opened.pop()
            if ch == "}" and len(inner) < _MAX_INNER:
                inner.append((begin, len(out)))
        else:  # a bare word (letters, digits, underscores) and the blanks after it
            word, blanks = token.group(2), token.group(3)
            k = token.end()
            # \w+ needs no JSON escaping, so quoting is just adding quotes
            if k < n and text[k] == ":" and word not in _PY_LITERALS:
                out.append(f'"{word}"')  # an unquoted key
            elif word in _PY_LITERALS or word in _JSON_LITERALS:
                out.append(_PY_LITERALS.get(word, word))
            else:  # an unquoted string value
                out.append(f'"{word}"')
            out.append(blanks)
            i = k
            continue
        i += 1
    return None, "".join(out), ["".join(out[a:b]) for a, b in inner]


def _load(json_text: str) -> Any:
    try:
        return json.loads(json_text, strict=False)
    except (ValueError, RecursionError):
        return None


@dataclass
class _Scan:
    objects: list[Any] = field(default_factory=list)  # parsed complete top-level objects
    unreadable: int = 0  # balanced objects that did not parse
    unclosed_at: int | None = None  # where an object that never closes starts
    inner: list[str] = field(default_factory=list)  # closed objects inside the unclosed one


def _scan(text: str) -> _Scan:
    """All top-level ``{...}`` objects of ``text``, parsed leniently."""
    scan = _Scan()
    i = text.find("{")
    while i != -1 and len(scan.objects) + scan.unreadable < _MAX_OBJECTS:
        end, json_text, inner = _scan_object(text, i)
        if end is None:
            scan.unclosed_at, scan.inner = i, inner
            break
        loaded = _load(json_text)
        if isinstance(loaded, dict):
            scan.objects.append(loaded)
        else:
            scan.unreadable += 1
        i = text.find("{", end + 1)
    return scan


# ------------------------------------------------------------------------ the answer object


def _lower_keys(obj: dict) -> dict:
    return {str(k).strip().lower(): v for k, v in obj.items()}


def _walk(obj: Any) -> Iterator[dict]:
    """Every dict in ``obj``, outermost first (breadth first, bounded depth)."""
    level = [obj]
    for _ in range(_MAX_DEPTH):
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                yield item
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        if not nxt:
            return
        level = nxt


def _find_answer(obj: Any) -> dict | None:
    """The dict holding ``classification`` (preferred) or a top-level-style ``label``."""
    fallback = None
    for candidate in _walk(obj):
        keys = _lower_keys(candidate)
        if "classification" in keys:
            return keys
        if fallback is None and ("label" in keys or "labels" in keys):
            fallback = keys
    return fallback


def _label_value(answer: dict) -> tuple[bool, Any]:
    """(found, value) of the label field of an answer object."""
    classification = answer.get("classification")
    if isinstance(classification, dict):
        inner = _lower_keys(classification)
        for key in ("label", "labels"):
            if key in inner:
                return True, inner[key]
    elif isinstance(classification, (str, list, bool)):
        return True, classification
    for key in ("label", "labels"):
        if key in answer:
            return True, answer[key]
    return False, None


def _leaf_text(value: Any) -> str | None:
    """The text of a leaf value; None for a list or dict (they hold parts)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (list, dict)):
        return None
    return str(value)


def _as_text(value: Any) -> str:
    """Explanation text from a string, list or dict value, at any depth.

    A list joins its non-empty parts with spaces, a dict its non-empty values as
    ``key: text``.  Iterative (an explicit stack of open containers), so a value nested
    thousands of levels deep is read without recursion.
    """
    root: list[str] = []
    # open containers: (iterator over (key or None, child), parts so far, own key, parent parts)
    stack: list[tuple[Iterator[tuple[str | None, Any]], list[str], str | None, list[str]]] = []
    key: str | None = None
    parts = root
    while True:
        text = _leaf_text(value)
        if text is None:
            children = (
                ((str(k), v) for k, v in value.items()) if isinstance(value, dict)
                else ((None, v) for v in value)
            )  # fmt: skip
            stack.append((children, [], key, parts))
        elif text:
            parts.append(text if key is None else f"{key}: {text}")
        while stack:
            children, own, own_key, parent = stack[-1]
            child = next(children, None)
            if child is not None:
                key, value = child
                parts = own
                break
            stack.pop()
            joined = " ".join(own)
            if joined:
                parent.append(joined if own_key is None else f"{own_key}: {joined}")
        else:
            return " ".join(root)


def _explanation(answer: dict) -> str:
    classification = answer.get("classification")
    if isinstance(classification, dict):
        inner = _lower_keys(classification)
        if "explanation" in inner:
            return _as_text(inner["explanation"])
    return _as_text(answer.get("explanation"))


def _marked_spans(text: str) -> list[str]:
    """The spans marked ``<<...>>`` in ``text``, in one linear pass.

    Each ``<<`` pairs with the first ``>>`` after it (as a lazy regex would), and a ``<<``
    with no ``>>`` after it ends the search: no later one can close either, so the reply is
    never rescanned (``<<`` repeated 16k times is one pass, not 16k).
    """
    spans: list[str] = []
    start = text.find(_SPAN_OPEN)
    while start != -1 and len(spans) < _MAX_SPANS:
        end = text.find(_SPAN_CLOSE, start + len(_SPAN_OPEN))
        if end == -1:
            break
        span = text[start + len(_SPAN_OPEN) : end].strip()
        if span:
            spans.append(span)
        start = text.find(_SPAN_OPEN, end + len(_SPAN_CLOSE))
    return spans


def _spans(value: Any) -> list[str]:
    """Spans marked <<...>> in a highlight value (a string, or a list of spans)."""
    if isinstance(value, str):
        return _marked_spans(value)
    if isinstance(value, list):
        spans: list[str] = []
        for item in value:
            if len(spans) >= _MAX_SPANS:
                break
            if not isinstance(item, str):
                continue
            if _SPAN_OPEN in item:
                spans.extend(_marked_spans(item))
            elif item.strip():  # an explicit list of spans needs no markers
                spans.append(item.strip())
        return spans[:_MAX_SPANS]
    return []


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _highlights(
    answer: dict, premise: str, hypothesis: str
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    raw = answer.get("highlights")
    classification = answer.get("classification")
    if not isinstance(raw, dict) and isinstance(classification, dict):
        raw = _lower_keys(classification).get("highlights")  # nested one level too deep
    keys = _lower_keys(raw) if isinstance(raw, dict) else {}
    sources = {"context": premise, "statement": hypothesis}
    found: dict[str, list[str]] = {}
    unmatched: dict[str, list[str]] = {}
    for name, aliases in HIGHLIGHT_KEYS.items():
        value = next((keys[a] for a in aliases if a in keys), None)
        found[name] = _spans(value)
        source = _norm(sources[name] or "")
        unmatched[name] = [s for s in found[name] if source and _norm(s) not in source]
    return found, unmatched


# ---------------------------------------------------------------------------- entry point


def _failure(reason: str, detail: str, raw_label: str = "") -> ParsedReply:
    return ParsedReply(parsed=False, failure=reason, detail=detail, raw_label=raw_label)


def _raw(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        try:
            return repr(value)
        except RecursionError:  # nested deeper than repr goes
            return f"<{type(value).__name__} nested too deep to show>"


def _strip_reasoning(text: str) -> tuple[str, bool]:
    """Remove reasoning blocks; return (rest, whether a reasoning block was left unclosed).

    Blocks are ``<think>...</think>`` (also ``thinking``, ``reasoning``; any case), each
    opening tag closed by the first later closing tag of the same name, leftmost first --
    what ``<(think|...)>.*?</\\1>`` would remove -- but found in one pass over the tags (the
    regex rescans to the end of the reply for every opening tag that never closes).  Then an
    orphan closing tag drops everything before it (the opening tag was part of the chat
    template), and an opening tag left over cuts the reply there (it never closes).
    """
    last_close: dict[str, int] = {}  # name -> start of its last closing tag
    for tag in _THINK_TAG.finditer(text):
        if tag.group(1):
            last_close[tag.group(2).lower()] = tag.start()
    kept: list[str] = []
    position = 0  # end of the text already handled
    closing: str | None = None  # inside a block: the name whose closing tag ends it
    for tag in _THINK_TAG.finditer(text):  # streamed: no list of match objects is kept
        name = tag.group(2).lower()
        if closing is not None:
            if tag.group(1) and name == closing:
                position, closing = tag.end(), None
            continue
        if tag.group(1) or last_close.get(name, -1) < tag.start():
            continue  # a closing tag outside a block, or an opening tag that never closes
        kept.append(text[position : tag.start()])
        kept.append(" ")
        closing = name
    if closing is None:
        kept.append(text[position:])
    text = "".join(kept)
    orphan = opened = None  # the last closing tag left; the first opening tag after it
    for tag in _THINK_TAG.finditer(text):
        if tag.group(1):
            orphan, opened = tag, None
        elif opened is None:
            opened = tag
    if orphan is not None:  # orphan closing tag: the opening one was part of the template
        text = text[orphan.end() :]
        if opened is not None:
            return text[: opened.start() - orphan.end()], True
        return text, False
    if opened is not None:
        return text[: opened.start()], True
    return text, False


def _salvage_label(inner: list[str]) -> str:
    """The label of a complete inner answer inside a cut-off reply ("" if none)."""
    for json_text in inner:
        if "label" not in json_text.lower():
            continue
        answer = _find_answer(_load(json_text))
        if answer is not None:
            found, value = _label_value(answer)
            if found:
                return _raw(value)
    return ""


def _parse(
    text: str, premise: str, hypothesis: str, stop_reason: str | None, space: LabelSpace
) -> ParsedReply:
    cut_off = stop_reason in TRUNCATING_STOP_REASONS
    refused = stop_reason == "content_filter"
    if not text.strip():
        if refused:
            return _failure("refused", "the provider's content filter stopped the reply, empty")
        return _failure("empty", "the reply is empty")
    if len(text) > _MAX_REPLY_CHARS:
        return _failure(
            "bad_json",
            f"the reply is {len(text):,} characters long, over the parser's limit of "
            f"{_MAX_REPLY_CHARS:,}: not read",
        )
    body, unclosed_think = _strip_reasoning(text)
    if unclosed_think and not body.strip():
        return _failure("truncated", "the reasoning block (<think>) never closes: no answer")
    if not body.strip():
        return _failure("empty", "the reply holds only a reasoning block, no answer")

    scan = _scan(body)
    answers = [a for a in (_find_answer(obj) for obj in scan.objects) if a is not None]

    if not answers:
        if scan.unclosed_at is not None or unclosed_think or cut_off:
            raw = _salvage_label(scan.inner)
            why = (
                "a JSON object never closes"
                if scan.unclosed_at is not None
                else "a reasoning block never closes"
                if unclosed_think
                else f"no complete answer and the stop reason is {stop_reason!r}"
            )
            note = f" (a complete label {raw!r} was found inside it)" if raw else ""
            return _failure("truncated", f"the reply was cut off: {why}{note}", raw)
        if refused:
            return _failure("refused", "the provider's content filter stopped the reply")
        if scan.objects:
            return _failure("no_label", "the JSON has no classification or label field")
        if scan.unreadable:
            return _failure("bad_json", "a JSON object is there but cannot be read")
        bare = _FENCE.sub(" ", body)
        try:
            labels = normalise_label(bare, space)
        except ValueError:
            return _failure("no_json", "no JSON object and no bare label in the reply")
        return _accepted(
            labels, bare.strip(), "", {}, premise, hypothesis, "bare label, no JSON", space
        )

    readings: list[tuple[dict, frozenset[str], Any]] = []
    for answer in answers:
        found, value = _label_value(answer)
        if not found:
            if len(answers) == 1:
                return _failure("no_label", "the classification has no label field")
            continue
        try:
            readings.append((answer, normalise_label(value, space), value))
        except _LabelError as exc:
            if len(answers) == 1:
                return _failure(exc.reason, str(exc), _raw(value))
    if not readings:
        return _failure("no_label", f"none of the {len(answers)} answer objects has a valid label")
    distinct = {labels for _, labels, _ in readings}
    if len(distinct) > 1:
        sets = sorted(space.join(labels) for labels in distinct)
        return _failure(
            "conflicting",
            f"{len(readings)} answer objects disagree: {', '.join(sets)}",
            "; ".join(_raw(value) for _, _, value in readings),
        )
    answer, labels, value = readings[-1]
    note = f"{len(readings)} identical answer objects" if len(readings) > 1 else ""
    return _accepted(
        labels, _raw(value), _explanation(answer), answer, premise, hypothesis, note, space
    )


def _accepted(
    labels: frozenset[str],
    raw_label: str,
    explanation: str,
    answer: dict,
    premise: str,
    hypothesis: str,
    detail: str,
    space: LabelSpace,
) -> ParsedReply:
    single = space.collapse(labels)
    if single is None:  # this dataset keeps one label per answer and drops several
        joined = space.join(labels)
        return _failure(
            "unknown_label", f"several labels ({joined}) where the dataset takes one", raw_label
        )
    highlights, unmatched = _highlights(answer, premise, hypothesis)
    return ParsedReply(
        parsed=True,
        labels=labels,
        multi_label=space.join(labels),
        label=single,
        explanation=explanation,
        highlights=highlights,
        unmatched_highlights=unmatched,
        failure="",
        detail=detail,
        raw_label=raw_label,
    )



def reply_text(text: object) -> str:
    """A model reply as text: None is empty, bytes are decoded (invalid UTF-8 replaced)."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    return text if isinstance(text, str) else str(text)

def parse_reply(
    text: str | None,
    premise: str = "",
    hypothesis: str = "",
    *,
    stop_reason: str | None = None,
    space: LabelSpace = NLI,
) -> ParsedReply:
    """Parse one model reply into an annotation, or classify why it cannot be parsed.

    Args:
        text: the reply (``None`` or non-string values are tolerated).
        premise, hypothesis: the item's texts, to flag highlight spans not found in them
            (not checked when empty).
        stop_reason: the provider's stop reason (Inspect's ``ModelOutput.stop_reason``);
            ``max_tokens`` / ``model_length`` mark a reply without a complete answer as
            ``truncated``.
        space: the dataset's labels, synonyms and single-label rule (default: the study's
            NLI labels).

    Never raises: an unexpected internal error becomes the failure ``parser_error``.
    """
    try:
        text = reply_text(text)
        premise = premise if isinstance(premise, str) else ""
        hypothesis = hypothesis if isinstance(hypothesis, str) else ""
        return _parse(text, premise, hypothesis, stop_reason, space)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        return _failure("parser_error", f"internal parser error: {type(exc).__name__}: {exc}")
