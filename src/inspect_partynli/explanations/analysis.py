"""Explanation variation of an annotation table (the study's Section 5, Figure 4, Appendix H).

:func:`explanation_metrics` is the one entry point: annotation table + dataset in, three
tables out (per explanation, per (item, label) group, summary per group of participants).

*Pools* are the populations compared: ``humans`` (rows with ``participant_type == 'human'``)
and ``participants`` (every other row; with ``pool_by='experiment'`` one pool per value of that
column instead, e.g. ``model_mix_lo``; values of a numeric column are named
``column=value``, e.g. ``temperature=0.7``).  Within a pool:

* lexical metrics (``wc``, ``V``, ``JAC``; :mod:`.lexical`) are per explanation;
* vector metrics (``D_pair``, ``D_cent``, ``D_max``; :mod:`.vectors`) are per (item, label)
  group, label = ``class_simple``, so disagreement is not counted as variation; groups with
  fewer than 2 explanations are skipped.  They are computed for the whole pool (kind ``pool``)
  and, across trials, for each participant alone (kind ``participant``).

Representations (the ``representation`` column; ``encoder`` says which model made each number):

* ``e5``: semantic sentence embedding of the explanation minus the embedding of the item's
  text fields joined by spaces (NLI: ``premise + " " + hypothesis``; EMB_e5; the model falls
  back to MiniLM offline);
* ``style``: style embedding of the explanation (EMB_style; skipped when unavailable);
* ``tfidf``: scikit-learn TF-IDF of the de-lexicalised tokens, fit on every explanation of the
  table (so its numbers depend on the whole table, humans included or not).

Rows that did not parse (``class_simple == 'error'`` or ``parsed`` false) or have an empty
explanation are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..analysis.coding import UNSET_WORDS
from ..analysis.references import dataset_name
from ..errors import UsageError
from ..labels import ERROR_LABEL
from . import metrics_cache
from .compare import summarise
from .delexicalise import DEFAULT_N, delexicalise_tokens, item_ngrams, tokenize
from .encoders import (
    CachedEncoder,
    Encoder,
    Notify,
    default_cache_dir,
    encoder_identity,
    print_note,
    resolve_semantic_encoder,
    resolve_style_encoder,
)
from .lexical import lexical_metrics
from .vectors import METRICS as VECTOR_METRICS
from .vectors import dispersion

HUMAN_POOL = "humans"
PARTICIPANT_POOL = "participants"
LEXICAL_METRICS = ("wc", "V", "JAC")
REPRESENTATIONS = ("lexical", "e5", "style", "tfidf")
#: Human annotators shown individually need strictly more items than this (Figure 4: six).
MIN_ANNOTATOR_ITEMS = 100

_REQUIRED = ("sent_id", "participant", "participant_type", "class_simple", "explanation")


class ExplanationMetrics(NamedTuple):
    """The three tables of :func:`explanation_metrics`."""

    per_explanation: pd.DataFrame
    per_group: pd.DataFrame
    summary: pd.DataFrame


@dataclass
class Representation:
    """Vectors (rows aligned with a prepared frame) of one representation, and their encoder."""

    name: str
    encoder: str
    vectors: Any  # np.ndarray or scipy sparse matrix


def lexical_encoder_label(n: int = DEFAULT_N) -> str:
    """The ``encoder`` value of lexical numbers: word tokens, de-lexicalised with n-grams."""
    return f"words/delex-{n}gram"


def humans_on_participant_items(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``table`` with its human rows kept only on items that some participant annotated.

    Comparing participants who saw a few items with humans on all 122 would mix item effects
    into the comparison, so humans are compared on the same items (as the report does).
    Returns the table and the number of items whose human rows were dropped (a table with
    no participant rows is returned whole).
    """
    is_human = table["participant_type"].astype(str) == "human"
    items = set(table.loc[~is_human, "sent_id"].astype(str))
    if not items:
        return table, 0
    dropped = is_human & ~table["sent_id"].astype(str).isin(items)
    n_items = table.loc[dropped, "sent_id"].nunique()
    return table[~dropped].reset_index(drop=True), int(n_items)


def item_texts(dataset: Any) -> pd.DataFrame:
    """The text fields of every item of a dataset (index item id, one column per field, in
    the dataset's ``text_fields`` order: premise and hypothesis for NLI)."""
    texts = dataset.items[list(dataset.text_fields)].astype(str)
    return texts.set_axis(texts.index.astype(str))


def prepare_explanations(
    table: pd.DataFrame,
    dataset: Any,
    *,
    n: int = DEFAULT_N,
    pool_by: str | None = None,
    tokens: bool = True,
) -> pd.DataFrame:
    """The usable explanations of ``table`` with their item, pool and de-lexicalised tokens.

    ``dataset`` gives the items' text fields (:func:`item_texts`), which de-lexicalisation
    removes from the explanations and EMB_e5 subtracts.  Columns: ``sent_id, participant,
    participant_type, experiment, trial, label, pool, explanation, item_text`` (the text fields
    joined by spaces), ``tokens`` (list of de-lexicalised tokens), ``delexicalised`` (those
    tokens joined by spaces); ``tokens=False`` leaves out these two (projections need no
    de-lexicalisation).  Raises :class:`UsageError` for a table without the needed
    columns or with items that are not in the dataset.
    """
    _check_columns(table, pool_by)
    rows = table.copy()
    if "parsed" in rows.columns:
        rows = rows[rows["parsed"].astype(bool)]
    rows = rows[rows["class_simple"].astype(str) != ERROR_LABEL]
    rows = rows[rows["explanation"].fillna("").astype(str).str.strip() != ""]
    texts = item_texts(dataset)
    unknown = sorted(set(rows["sent_id"].astype(str)) - set(texts.index))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise UsageError(
            f"{len(unknown)} item(s) of the table are not in {dataset_name(dataset)}: {shown}"
        )
    frame = pd.DataFrame(
        {
            "sent_id": rows["sent_id"].astype(str),
            "participant": rows["participant"].astype(str),
            "participant_type": rows["participant_type"].astype(str),
            "experiment": rows["experiment"].astype(str) if "experiment" in rows else "",
            "trial": rows["trial"] if "trial" in rows else 1,
            "label": rows["class_simple"].astype(str),
            "explanation": rows["explanation"].astype(str),
        }
    ).reset_index(drop=True)
    is_human = frame["participant_type"] == "human"
    if pool_by is None:
        frame["pool"] = np.where(is_human, HUMAN_POOL, PARTICIPANT_POOL)
    else:
        column = rows[pool_by].reset_index(drop=True)
        # an unset value (NaN: the provider's default temperature, an unknown size) is a pool
        # of its own, named as in the label metrics (temperature=default, num_params=unknown)
        values = column.astype(str).where(column.notna(), UNSET_WORDS.get(pool_by, "unset"))
        if pd.api.types.is_numeric_dtype(column):  # "temperature=0.7", not "0.7"
            values = f"{pool_by}=" + values
        frame["pool"] = np.where(is_human, HUMAN_POOL, values)
    frame["item_text"] = frame["sent_id"].map(texts.agg(" ".join, axis=1))
    if not tokens:
        return frame
    fields = texts.loc[sorted(set(frame["sent_id"]))]
    grams = {uid: item_ngrams(tuple(row), n) for uid, row in zip(fields.index, fields.to_numpy(),
                                                                 strict=True)}  # fmt: skip
    frame["tokens"] = [
        delexicalise_tokens(tokenize(text), grams[uid], n)
        for uid, text in zip(frame["sent_id"], frame["explanation"], strict=True)
    ]
    frame["delexicalised"] = frame["tokens"].map(" ".join)
    return frame


def _check_columns(table: pd.DataFrame, pool_by: str | None) -> None:
    """:class:`UsageError` for a table without the columns the metrics (or ``pool_by``) need."""
    missing = [column for column in _REQUIRED if column not in table.columns]
    if missing:
        raise UsageError(f"annotation table lacks column(s) {', '.join(missing)}")
    if pool_by is not None and pool_by not in table.columns:
        raise UsageError(f"cannot pool by {pool_by!r}: no such column in the annotation table")


def _cache_folder(cache_dir: str | Path | None, use_cache: bool) -> Path | None:
    """The embedding cache folder (``cache_dir``, else the package's), or None without cache."""
    return Path(cache_dir or default_cache_dir()) if use_cache else None


def _as_cached(
    encoder: Encoder, cache_dir: str | Path | None, use_cache: bool, progress: bool
) -> Encoder:
    if isinstance(encoder, CachedEncoder):
        return encoder
    return CachedEncoder(encoder, _cache_folder(cache_dir, use_cache), progress=progress)


def embed_explanations(
    frame: pd.DataFrame,
    encoder: Encoder,
    *,
    subtract_item: bool,
) -> np.ndarray:
    """Embeddings of ``frame['explanation']``, minus the embedding of the item's text
    (``item_text``: premise + " " + hypothesis for NLI) when ``subtract_item`` (EMB_e5).  One
    ``encode`` call for all texts."""
    explanations = frame["explanation"].tolist()
    if not subtract_item:
        return np.asarray(encoder.encode(explanations), dtype=np.float32)
    uids = sorted(set(frame["sent_id"]))
    first = frame.drop_duplicates("sent_id").set_index("sent_id")
    item_strings = [str(first.at[uid, "item_text"]) for uid in uids]
    vectors = np.asarray(encoder.encode(explanations + item_strings), dtype=np.float32)
    item_index = {uid: len(explanations) + i for i, uid in enumerate(uids)}
    rows = [item_index[uid] for uid in frame["sent_id"]]
    return vectors[: len(explanations)] - vectors[rows]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def tfidf_vectors(frame: pd.DataFrame):
    """Sparse TF-IDF vectors of the de-lexicalised tokens (scikit-learn defaults otherwise)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(len(tokens) for tokens in frame["tokens"]):
        from scipy import sparse

        return sparse.csr_matrix((len(frame), 1))
    return TfidfVectorizer(analyzer=_identity).fit_transform(frame["tokens"].tolist())


def build_representations(
    frame: pd.DataFrame,
    *,
    encoder: Encoder | None,
    style_encoder: Encoder | None,
    tfidf: bool = True,
    n: int = DEFAULT_N,
) -> list[Representation]:
    """The vector representations of ``frame``'s explanations (encoders already resolved)."""
    found = []
    if encoder is not None:
        vectors = embed_explanations(frame, encoder, subtract_item=True)
        found.append(Representation("e5", encoder.name, vectors))
    if style_encoder is not None:
        vectors = embed_explanations(frame, style_encoder, subtract_item=False)
        found.append(Representation("style", style_encoder.name, vectors))
    if tfidf:
        found.append(Representation("tfidf", f"tfidf/delex-{n}gram", tfidf_vectors(frame)))
    return found


def _participant_group_name(frame: pd.DataFrame, pooled: bool) -> pd.Series:
    if not pooled:
        return frame["participant"]
    return frame["participant"] + " [" + frame["pool"] + "]"


def _rows(vectors, positions: np.ndarray) -> np.ndarray:
    """Rows ``positions`` of ``vectors`` as a small dense array.

    Sparse (CSR) rows keep only the columns they use, gathered with numpy: scipy's own row
    slicing costs far more than the arithmetic for the thousands of small groups of a study.
    """
    if not hasattr(vectors, "indptr"):
        return vectors[positions]
    starts, ends = vectors.indptr[positions], vectors.indptr[positions + 1]
    lengths = ends - starts
    if lengths.sum() == 0:
        return np.zeros((len(positions), 1))
    entries = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
    columns, local = np.unique(vectors.indices[entries], return_inverse=True)
    dense = np.zeros((len(positions), len(columns)))
    dense[np.repeat(np.arange(len(positions)), lengths), local] = vectors.data[entries]
    return dense


def group_dispersion(
    frame: pd.DataFrame,
    representations: Sequence[Representation],
    *,
    per_participant: bool = True,
    pooled_names: bool = False,
) -> pd.DataFrame:
    """D_pair, D_cent, D_max per (pool, item, label) and per (participant, item, label).

    Columns: ``group, kind, pool, sent_id, label, representation, encoder, n, n_zero,
    D_pair, D_cent, D_max``; groups with fewer than 2 (non-zero) vectors are left out.
    """
    work = frame.reset_index(drop=True)
    work = work.assign(_participant=_participant_group_name(work, pooled_names))
    layouts = [("pool", ["pool", "sent_id", "label"], "pool")]
    if per_participant:
        participant_keys = ["pool", "_participant", "sent_id", "label"]
        layouts.append(("participant", participant_keys, "_participant"))
    matrices = [
        r.vectors.tocsr() if hasattr(r.vectors, "tocsr") else np.asarray(r.vectors)
        for r in representations
    ]
    rows = []
    for kind, keys, name_column in layouts:
        indices = work.groupby(keys, sort=True).indices
        for key, positions in indices.items():
            if len(positions) < 2:
                continue
            meta = dict(zip(keys, key, strict=True))
            for representation, matrix in zip(representations, matrices, strict=True):
                result = dispersion(_rows(matrix, np.asarray(positions)))
                if result["n"] < 2:
                    continue
                rows.append(
                    {
                        "group": meta[name_column],
                        "kind": kind,
                        "pool": meta["pool"],
                        "sent_id": meta["sent_id"],
                        "label": meta["label"],
                        "representation": representation.name,
                        "encoder": representation.encoder,
                        **result,
                    }
                )
    columns = ["group", "kind", "pool", "sent_id", "label", "representation", "encoder",
               "n", "n_zero", *VECTOR_METRICS]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _lexical_long(
    per_explanation: pd.DataFrame, *, n: int, min_annotator_items: int, pooled_names: bool
) -> pd.DataFrame:
    """Long rows (group, kind, metric, representation, encoder, value) of the lexical metrics."""
    frame = per_explanation.assign(
        _participant=_participant_group_name(per_explanation, pooled_names)
    )
    is_human = frame["participant_type"] == "human"
    items_per_participant = frame.groupby("_participant")["sent_id"].nunique()
    shown = set(items_per_participant[items_per_participant > min_annotator_items].index)
    individual = frame[~is_human | frame["_participant"].isin(shown)]
    parts = [
        frame.assign(group=frame["pool"], kind="pool"),
        individual.assign(
            group=individual["_participant"],
            kind=np.where(individual["participant_type"] == "human", "annotator", "participant"),
        ),
    ]
    both = pd.concat(parts, ignore_index=True)
    long = both.melt(id_vars=["group", "kind"], value_vars=list(LEXICAL_METRICS), var_name="metric")
    return long.assign(representation="lexical", encoder=lexical_encoder_label(n))


def _vector_long(per_group: pd.DataFrame) -> pd.DataFrame:
    long = per_group.melt(
        id_vars=["group", "kind", "representation", "encoder"],
        value_vars=list(VECTOR_METRICS),
        var_name="metric",
    )
    return long


def _order(summary: pd.DataFrame) -> pd.DataFrame:
    kind_order = {"pool": 0, "annotator": 1, "participant": 2}
    metric_order = {m: i for i, m in enumerate(LEXICAL_METRICS + VECTOR_METRICS)}
    rep_order = {r: i for i, r in enumerate(REPRESENTATIONS)}
    key = pd.DataFrame(
        {
            "r": summary["representation"].map(rep_order),
            "m": summary["metric"].map(metric_order),
            "k": summary["kind"].map(kind_order),
            "h": summary["group"] != HUMAN_POOL,
            "g": summary["group"].map(_natural_key),
        }
    )
    order = key.sort_values(["r", "m", "k", "h", "g"], kind="stable").index
    return summary.loc[order].reset_index(drop=True)


def _natural_key(name: str) -> str:
    """Sort w2 before w10: zero-pad runs of digits."""
    import re

    return re.sub(r"\d+", lambda m: m.group(0).zfill(6), str(name))


def explanation_metrics(
    table: pd.DataFrame,
    dataset: Any,
    *,
    encoder: str | Encoder | None = None,
    style_encoder: str | Encoder | None = None,
    tfidf: bool = True,
    n: int = DEFAULT_N,
    pool_by: str | None = None,
    jaccard_by_label: bool = False,
    per_participant: bool = True,
    min_annotator_items: int = MIN_ANNOTATOR_ITEMS,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    allow_download: bool = False,
    progress: bool = True,
    notify: Notify | None = print_note,
) -> ExplanationMetrics:
    """Lexical and vector explanation variation of ``table``, and humans-vs-participants tests.

    ``table``: an annotation table (humans included as ``participant_type == 'human'`` rows
    if they are to be compared; :func:`~inspect_partynli.analysis.human_table` gives the
    dataset's).  ``dataset``: the items' text fields (see :func:`prepare_explanations`).
    ``encoder`` / ``style_encoder``: a model id or local path
    (default: the paper's e5 and StyleDistance models), ``"none"`` to skip, or an
    :class:`~.encoders.Encoder` object.  Unavailable models are reported through ``notify``
    (semantic: falls back to offline MiniLM; style: skipped).  Embeddings are cached in
    ``cache_dir`` (default ``<package cache>/embeddings``) unless ``use_cache=False``; so are
    the three tables returned (:mod:`.metrics_cache`: a rerun on the same inputs, encoders
    and parameters reads them back without computing anything).

    Returns ``(per_explanation, per_group, summary)``:

    * ``per_explanation``: one row per usable explanation: ``sent_id, participant,
      participant_type, experiment, trial, label, pool, explanation, delexicalised, wc, V, JAC,
      encoder`` (the tokenisation that made wc, V and JAC, e.g. ``words/delex-3gram``);
    * ``per_group``: see :func:`group_dispersion`;
    * ``summary``: one row per (group, kind, metric, representation, encoder) with
      ``n, median, q1, q3, mean, p_value`` (Mann-Whitney U vs the ``humans`` pool).
      Groups: the pools, human annotators with more than ``min_annotator_items`` items
      (kind ``annotator``, lexical only), and every non-human participant (kind
      ``participant``).
    """
    _check_columns(table, pool_by)
    semantic = resolve_semantic_encoder(encoder, allow_download=allow_download, notify=notify)
    style = resolve_style_encoder(style_encoder, allow_download=allow_download, notify=notify)
    if semantic is not None:
        semantic = _as_cached(semantic, cache_dir, use_cache, progress)
    if style is not None:
        style = _as_cached(style, cache_dir, use_cache, progress)
    encoders = {"semantic": semantic, "style": style}
    folder = _cache_folder(cache_dir, use_cache)
    cached = None
    if folder is not None:  # the results of an earlier run on the same inputs, if any
        parameters = {
            "encoders": {role: _encoder_key(e) for role, e in encoders.items()},
            "tfidf": tfidf, "n": n, "pool_by": pool_by, "jaccard_by_label": jaccard_by_label,
            "per_participant": per_participant, "min_annotator_items": min_annotator_items,
            "error_label": ERROR_LABEL, "unset": UNSET_WORDS.get(pool_by or "", "unset"),
        }  # fmt: skip
        columns = (*_REQUIRED, "parsed", "experiment", "trial", *([pool_by] if pool_by else []))
        key = metrics_cache.metrics_key(table, columns, item_texts(dataset), parameters)
        cached = metrics_cache.load(folder / metrics_cache.METRICS_CACHE, key)
    if cached is not None:
        tables, meta = cached
        for role, devices in meta.get("devices", {}).items():  # where the embeddings ran
            if isinstance(encoders.get(role), CachedEncoder):
                encoders[role].devices.update(devices)
        return ExplanationMetrics(*tables)
    result = _compute_metrics(
        prepare_explanations(table, dataset, n=n, pool_by=pool_by), semantic, style,
        tfidf=tfidf, n=n, pooled_names=pool_by is not None, jaccard_by_label=jaccard_by_label,
        per_participant=per_participant, min_annotator_items=min_annotator_items,
    )  # fmt: skip
    if folder is not None and not result.per_explanation.empty:
        devices = {role: getattr(e, "devices", set()) for role, e in encoders.items() if e}
        metrics_cache.store(folder / metrics_cache.METRICS_CACHE, key, result,
                            {"devices": devices})  # fmt: skip
    return result


def _encoder_key(encoder: Encoder | None) -> dict[str, str] | None:
    """How an encoder enters the metrics cache key: its output name and its cache identity."""
    if encoder is None:
        return None
    return {"name": encoder.name, "identity": encoder_identity(encoder)}


def _compute_metrics(
    frame: pd.DataFrame,
    semantic: Encoder | None,
    style: Encoder | None,
    *,
    tfidf: bool,
    n: int,
    pooled_names: bool,
    jaccard_by_label: bool,
    per_participant: bool,
    min_annotator_items: int,
) -> ExplanationMetrics:
    """The three tables of :func:`explanation_metrics` for a prepared frame."""
    lexical = lexical_metrics(frame, by_label=jaccard_by_label)
    if frame.empty:
        semantic = style = None
    representations = build_representations(
        frame, encoder=semantic, style_encoder=style, tfidf=tfidf and not frame.empty, n=n
    )
    per_group = group_dispersion(
        frame, representations, per_participant=per_participant, pooled_names=pooled_names
    )
    per_explanation = lexical.drop(columns=["tokens", "item_text"]).assign(
        encoder=lexical_encoder_label(n)
    )
    long = pd.concat(
        [
            _lexical_long(
                lexical, n=n, min_annotator_items=min_annotator_items, pooled_names=pooled_names
            ),
            _vector_long(per_group),
        ],
        ignore_index=True,
    )
    summary = _order(summarise(long)) if not long.empty else summarise(long)
    return ExplanationMetrics(per_explanation, per_group, summary)
