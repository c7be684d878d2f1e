"""What a report is built with: its options, its encoders, and how a part says it is skipped.

Shared by :mod:`.build` (the orchestration) and :mod:`.parts` (the parts), so that neither
imports the other's internals.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.conventions import PAPER, Conventions
from ..design import RANDOM_MIX_DRAWS, RANDOM_MIX_SEED, RANDOM_MIX_SIZE

#: Human annotators with more than this many items are shown individually (Figures 3, 4).
MIN_ANNOTATOR_ITEMS = 100
#: The item of the paper's Figure 1 (used when it has explanations; else the lowest-JS item).
FIGURE1_ITEM = "108083c"


@dataclass
class ReportOptions:
    """Everything ``partynli report`` can change; defaults are the paper's choices."""

    dataset: str | None = None  # livenli|varierr|CARD.yaml (None: the logs' headers, else livenli)
    data: str | Path | None = None  # the dataset's file or folder (default: its usual places)
    reference: str | None = None  # population of Table 5, figures, items (None: primary)
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)  # name -> participants
    subset: str | None = None  # None: Table 2 over the items every population labels
    explanations: bool = True
    encoder: str | object | None = None  # semantic encoder id/path/object (None: default)
    style_encoder: str | object | None = None
    random_mix_draws: int = RANDOM_MIX_DRAWS
    random_mix_size: int = RANDOM_MIX_SIZE
    seed: int = RANDOM_MIX_SEED
    force: bool = False
    progress: bool = True
    projection_items: int | None = None  # Figure 11 over at most this many items (None: all)
    single: str | None = None  # unit of Table 2's SINGLE row (None: the lowest JS; a study's)
    participants: Mapping[str, str] | None = None  # model id -> participant name (log rows)
    num_params: Mapping[str, float] | None = None  # participant or model id -> billions
    encoders: Encoders | None = None  # already resolved (None: from encoder / style_encoder)
    notes: list[str] = field(default_factory=list)  # about the inputs (a study's missing runs)
    exclude: Sequence[str] = ()  # glob patterns of logs/files not to read
    conventions: Conventions = PAPER  # how the label metrics are computed (the paper's)
    svg: bool = False  # also write every figure as SVG (PNG is always written)
    device: str = "auto"  # where the encoders run: auto, cpu, cuda or mps
    loaded: object | None = None  # an already loaded dataset (the HLVDataset); wins over dataset

    def resolve_dataset(self, sources: Sequence[Path] = ()) -> object:
        """The dataset to compare with: ``loaded``, else ``dataset`` (``--dataset``), else the
        one the sources' log headers name, else LiveNLI; loaded once and kept."""
        if self.loaded is None:
            from ..annotations import sources_dataset

            self.loaded = sources_dataset(sources, self.dataset, data=self.data)
        return self.loaded


@dataclass
class Encoders:
    """The explanation encoders, resolved once per report (so a model loads once and each
    note is printed once), with what a reader must know about them."""

    semantic: object = "none"  # an Encoder, or "none" (no semantic representation)
    style: object = "none"
    notes: list[str] = field(default_factory=list)  # e.g. "... using MiniLM instead"
    style_missing: str = ""  # why the style representation is absent (not switched off)
    semantic_missing: str = ""

    @classmethod
    def resolve(cls, options: ReportOptions) -> Encoders:
        """Resolve ``options.encoder`` / ``options.style_encoder`` (nothing when explanations
        are off).  Raises :class:`UsageError` for an encoder path that does not exist."""
        encoders = cls()
        if not options.explanations:
            return encoders
        from ..explanations import resolve_semantic_encoder, resolve_style_encoder

        def resolve(function, spec) -> tuple[object, str]:
            said: list[str] = []  # the resolver's notes (fallback used, model missing)
            encoder = function(spec, notify=said.append, device=options.device)
            for message in said:
                print(f"partynli report: note: {message}", file=sys.stderr)
            encoders.notes += said
            # None after a note: the model is missing (after none: the user switched it off)
            return ("none", said[-1] if said else "") if encoder is None else (encoder, "")

        encoders.semantic, encoders.semantic_missing = resolve(
            resolve_semantic_encoder, options.encoder
        )
        encoders.style, encoders.style_missing = resolve(resolve_style_encoder,
                                                         options.style_encoder)  # fmt: skip
        return encoders


class Skip(Exception):
    """Raised inside a part: the inputs do not allow it (the message says why)."""
