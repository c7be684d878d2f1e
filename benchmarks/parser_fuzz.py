"""Fuzz the reply parser with a seeded corpus of malformed replies; print what it made of them.

    python benchmarks/parser_fuzz.py [--n 10000] [--seed 0]

Each reply starts from a well-formed answer in one of many legal spellings (labels as
synonyms, capitals, lists, any separator; single quotes; trailing commas; code fences; text
around the JSON; reasoning blocks; missing highlights) and then gets 0-3 random mutations:
truncation, deletion or insertion of braces/quotes/colons, a wrong label, random unicode, a
second conflicting object, an unclosed ``<think>``, deep nesting or a huge input.  Replies that
still are exactly the format the system prompt asks for (strict JSON, canonical label, string
explanation and highlights) are drawn again, so the corpus holds ``--n`` malformed replies.
The script prints the count per outcome (parsed or failure category), the number of
exceptions (must be 0), the number of ``parser_error`` results (must be 0) and the parsing
speed.  Exit status 1 when either must-be-zero count is not.

Then the pathological families (issue 10: replies that made the old regexes and recursion
quadratic) are parsed at doubling lengths up to about 1 MB: ``<<`` repeated in a highlight,
``<think>`` repeated, ``<think>x`` and ``</thinking>`` repeated, an explanation nested in
lists, and more (unclosed braces, quotes, parentheses in a label, ...).  For each family the
script prints the seconds per reply at each length, the growth exponent (slope of log time
over log length: 1 is linear, 2 quadratic) and the time relative to a well-formed reply of
the same length measured in the same run.  Exit status 1 when a family grows faster than
linearly (exponent over 1.3) or a reply under 1 MB takes over 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable

from inspect_partynli.labels import LABELS, multi_label
from inspect_partynli.parsing import FAILURE_REASONS, parse_reply

SPELLINGS = {
    "true": ["true", "True", "TRUE", "entailment", "Entailment", "is most likely to be true"],
    "either": ["either", "Either", "EITHER", "neutral", "can be either true or false"],
    "false": ["false", "False", "contradiction", "Contradiction", "is most likely false"],
}
JOINERS = ["-", ", ", " | ", "/", " and ", "|"]
WORDS = 'the a cat dog sat on mat it\'s "quoted" maybe not {brace} [list] <<span>> é 中 🙂'.split()
JUNK = list("{}[]\"',:<>\\`") + ["<<", ">>", "```", "\n", "<think>", "</think>"]
WRONG_LABELS = ["none", "unknown", "maybe", "", "e", "yes", "true-maybe", "N/A", "42"]


def _text(rng: random.Random, k: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(k))


def _label(rng: random.Random) -> object:
    chosen = rng.sample(LABELS, rng.randint(1, 3))
    spelled = [rng.choice(SPELLINGS[label]) for label in chosen]
    if rng.random() < 0.15:
        return spelled  # a JSON list
    return rng.choice(JOINERS).join(spelled)


def valid_reply(rng: random.Random) -> str:
    """A well-formed (if unconventional) reply."""
    answer: dict = {"classification": {"label": _label(rng), "explanation": _text(rng, 12)}}
    if rng.random() < 0.8:
        answer["highlights"] = {
            "context": f"{_text(rng, 3)} <<{_text(rng, 2)}>> {_text(rng, 2)}",
            "statement": rng.choice([f"<<{_text(rng, 2)}>>", [_text(rng, 1)], "", None]),
        }
    if rng.random() < 0.1:  # label at the top level
        answer = {"label": answer["classification"]["label"], "explanation": "x"}
    style = rng.random()
    if style < 0.6:
        text = json.dumps(answer, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
    elif style < 0.8:
        text = repr(answer)  # a Python-literal dict
    else:
        text = json.dumps(answer).replace("}", ", }")  # trailing commas
    if rng.random() < 0.2:
        text = f"```json\n{text}\n```"
    if rng.random() < 0.2:
        text = f"Here is my answer: {text} Hope this helps."
    if rng.random() < 0.15:
        text = f"<think>{_text(rng, 30)}</think>\n{text}"
    return text


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _delete(rng: random.Random, text: str) -> str:
    if not text:
        return text
    i = rng.randrange(len(text))
    return text[:i] + text[i + rng.randint(1, 3) :]


def _insert(rng: random.Random, text: str) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(JUNK) + text[i:]


def _wrong_label(rng: random.Random, text: str) -> str:
    for spellings in SPELLINGS.values():
        for word in spellings:
            if word in text:
                return text.replace(word, rng.choice(WRONG_LABELS), 1)
    return text


def _unicode(rng: random.Random, text: str) -> str:
    noise = "".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 40)))
    i = rng.randrange(len(text) + 1)
    return text[:i] + noise + text[i:]


def _conflict(rng: random.Random, text: str) -> str:
    return text + "\n" + valid_reply(rng)


def _unclosed_think(rng: random.Random, text: str) -> str:
    return f"<think>{_text(rng, 20)}\n{text}"


def _deep(rng: random.Random, text: str) -> str:
    depth = rng.randint(100, 5000)
    return "{" * depth + text + "}" * rng.randint(0, depth)


def _huge(rng: random.Random, text: str) -> str:
    return text * rng.randint(50, 400)


MUTATIONS: list[tuple[float, Callable[[random.Random, str], str]]] = [
    (0.25, _truncate),
    (0.15, _delete),
    (0.2, _insert),
    (0.1, _wrong_label),
    (0.1, _unicode),
    (0.08, _conflict),
    (0.05, _unclosed_think),
    (0.04, _deep),
    (0.03, _huge),
]


#: The label strings the system prompt allows: sorted, hyphen-joined, lower case.
CANONICAL_LABELS = frozenset(
    multi_label(label for i, label in enumerate(LABELS) if mask >> i & 1) for mask in range(1, 8)
)


def is_well_formed(text: str) -> bool:
    """Whether ``text`` is exactly what the system prompt asks for: one strict JSON object
    with ``classification.label`` a canonical label, a string explanation and string
    highlights (nothing around it, no other keys)."""
    try:
        reply = json.loads(text)
    except (ValueError, RecursionError):
        return False
    if not isinstance(reply, dict) or set(reply) != {"classification", "highlights"}:
        return False
    classification, highlights = reply["classification"], reply["highlights"]
    return (
        isinstance(classification, dict)
        and set(classification) == {"label", "explanation"}
        and isinstance(classification["label"], str)
        and classification["label"] in CANONICAL_LABELS
        and isinstance(classification["explanation"], str)
        and isinstance(highlights, dict)
        and set(highlights) == {"context", "statement"}
        and all(isinstance(value, str) for value in highlights.values())
    )


def malformed_reply(rng: random.Random) -> str:
    """A valid reply with 0-3 random mutations."""
    text = valid_reply(rng)
    weights = [w for w, _ in MUTATIONS]
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        mutate = rng.choices([m for _, m in MUTATIONS], weights=weights)[0]
        text = mutate(rng, text)
    return text


def run(n: int = 10_000, seed: int = 0) -> dict:
    """Parse ``n`` generated replies; return outcome counts, exceptions and timing."""
    rng = random.Random(seed)
    replies: list[str] = []
    redrawn = 0
    while len(replies) < n:
        text = malformed_reply(rng)
        if is_well_formed(text):
            redrawn += 1
        else:
            replies.append(text)
    stop_reasons = [rng.choice([None, "stop", "max_tokens"]) for _ in range(n)]
    outcomes: Counter[str] = Counter()
    exceptions: list[str] = []
    start = time.perf_counter()
    for text, stop in zip(replies, stop_reasons, strict=True):
        try:
            reply = parse_reply(text, "the cat sat", "a dog", stop_reason=stop)
        except Exception as exc:  # noqa: BLE001 - counting them is the point
            exceptions.append(f"{type(exc).__name__}: {exc}")
            continue
        if reply.parsed != (reply.failure == ""):
            exceptions.append(f"inconsistent result for {text[:80]!r}")
        outcomes["parsed" if reply.parsed else reply.failure] += 1
    seconds = time.perf_counter() - start
    valid = [valid_reply(rng) for _ in range(min(n, 2_000))]
    start = time.perf_counter()
    for text in valid:
        parse_reply(text, "the cat sat", "a dog")
    valid_seconds = time.perf_counter() - start
    return {
        "n": n,
        "redrawn": redrawn,
        "chars": sum(map(len, replies)),
        "outcomes": outcomes,
        "exceptions": exceptions,
        "seconds": seconds,
        "valid_n": len(valid),
        "valid_chars": sum(map(len, valid)),
        "valid_seconds": valid_seconds,
    }


def _answer(highlight: str = "", explanation: str = "fine") -> str:
    return json.dumps({
        "classification": {"label": "true", "explanation": explanation},
        "highlights": {"context": highlight, "statement": ""},
    })  # fmt: skip


#: Reply families that a backtracking regex or recursion makes super-linear: name -> reply
#: of about ``n`` repetitions.
PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "highlight '<<' x n": lambda n: _answer(highlight="<<" * n),
    "'<think>' x n": lambda n: "<think>" * n,
    "'<think>x' x n + '</thinking>' x n": lambda n: "<think>x" * n + "</thinking>" * n,
    "('<think>x' + '</thinking>') x n": lambda n: "<think>x</thinking>" * n,
    "'<THINK>' x n + '</think>'": lambda n: "<THINK>" * n + "</think>",
    "explanation nested n lists deep": lambda n: (
        '{"classification": {"label": "true", "explanation": ' + "[" * n + '"deep"' + "]" * n + "}}"
    ),
    "'{' x n": lambda n: "{" * n,
    "'[' x n inside an object": lambda n: '{"a": ' + "[" * n,
    "'\" ' x n in an object": lambda n: '{"a": "' + '" ' * n + "}",
    "'\\\\' x n in a string": lambda n: '{"a": "' + "\\" * n + '"}',
    "'a :' x n (bare keys)": lambda n: "{" + "a :" * n + "}",
    "label '(' x n": lambda n: json.dumps({"classification": {"label": "(" * n}}),
    "bare 'true (' x n": lambda n: "true (" * n,
    "'<<' x n outside JSON": lambda n: "<<" * n,
    "answer object x n": lambda n: '{"label": "true"}' * n,
}

#: Lengths (characters, about) at which every family is timed: doubling up to 1 MB.
PATHOLOGICAL_CHARS: tuple[int, ...] = tuple(1_000_000 >> k for k in range(6, -1, -1))


def _time(text: str, repeats: int = 3) -> float:
    """Best of ``repeats`` timings of one parse (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        parse_reply(text, "the cat sat", "a dog")
        best = min(best, time.perf_counter() - start)
    return best


def _sized(family: Callable[[int], str], chars: int) -> str:
    """The family's reply of about ``chars`` characters."""
    unit = max(1, len(family(64)) // 64)
    text = family(max(1, chars // unit))
    while len(text) > chars:  # never over: the 0.5 s limit is for replies under 1 MB
        text = family(max(1, int(chars // unit * chars / len(text)) - 1))
    return text


def pathological() -> list[dict]:
    """Time every pathological family at :data:`PATHOLOGICAL_CHARS`."""
    import math

    baseline = {n: _time(_answer(explanation="word " * (n // 5))) for n in PATHOLOGICAL_CHARS}
    rows = []
    for name, family in PATHOLOGICAL.items():
        lengths, seconds = [], []
        for chars in PATHOLOGICAL_CHARS:
            text = _sized(family, chars)
            lengths.append(len(text))
            seconds.append(_time(text))
        # growth exponent over the upper half (small sizes are dominated by fixed costs)
        half = len(lengths) // 2
        xs = [math.log(n) for n in lengths[half:]]
        ys = [math.log(max(t, 1e-7)) for t in seconds[half:]]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mean_x) ** 2 for x in xs
        )
        largest = max(PATHOLOGICAL_CHARS)
        rows.append({
            "family": name, "lengths": lengths, "seconds": seconds, "exponent": slope,
            "vs_well_formed": seconds[-1] / max(baseline[largest], 1e-7),
            "max_under_1mb": max(t for n, t in zip(lengths, seconds, strict=True)
                                 if n <= 1_000_000),
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="replies to generate")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--skip-pathological", action="store_true",
                        help="skip the timing of the pathological families")  # fmt: skip
    args = parser.parse_args(argv)
    result = run(args.n, args.seed)
    outcomes = result["outcomes"]
    print(
        f"malformed replies: {result['n']:,} ({result['chars']:,} characters), seed {args.seed}; "
        f"{result['redrawn']:,} well-formed draws redrawn"
    )
    for outcome in ("parsed", *FAILURE_REASONS):
        print(f"  {outcome:<15} {outcomes.get(outcome, 0):>7,}")
    unknown = set(outcomes) - {"parsed", *FAILURE_REASONS}
    print(f"unclassified outcomes: {sorted(unknown) or 0}")
    print(f"exceptions: {len(result['exceptions'])}")
    for line in result["exceptions"][:10]:
        print(f"  {line}")
    for label, n, chars, seconds in (
        ("malformed corpus", result["n"], result["chars"], result["seconds"]),
        ("well-formed replies", result["valid_n"], result["valid_chars"], result["valid_seconds"]),
    ):
        rate = n / seconds if seconds else float("inf")
        print(
            f"{label}: {n:,} replies (mean {chars / n:,.0f} chars) in {seconds:.2f} s: "
            f"{rate:,.0f} replies/s, {chars / seconds / 1e6:.1f} M chars/s"
        )
    bad = result["exceptions"] or unknown or outcomes.get("parser_error", 0)
    if args.skip_pathological:
        return 1 if bad else 0
    print("pathological families (seconds per reply at each length; exponent 1 = linear):")
    slow = []
    for row in pathological():
        timings = " ".join(f"{t:.4f}" for t in row["seconds"])
        print(
            f"  {row['family']:<38} exponent {row['exponent']:.2f}  "
            f"max {row['max_under_1mb']:.3f} s"
            f"  {row['vs_well_formed']:.2f}x a well-formed reply of {row['lengths'][-1]:,} chars"
        )
        print(f"    {timings}")
        if row["exponent"] > 1.3 or row["max_under_1mb"] > 0.5:
            slow.append(row["family"])
    lengths = ", ".join(f"{n:,}" for n in PATHOLOGICAL_CHARS)
    print(f"lengths (chars, about): {lengths}")
    print(f"super-linear or over 0.5 s: {slow or 0}")
    return 1 if bad or slow else 0


if __name__ == "__main__":
    sys.exit(main())
