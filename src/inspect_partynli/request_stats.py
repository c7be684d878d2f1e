"""What a run's requests took: per sample the attempts, per run the requests sent, retried and
failed (read from eval logs' sample summaries, never from the full samples).

Attempts of one annotation (sample, epoch) = 1 + the requests the provider client retried
(429, 5xx, resets, timeouts: ``http_retries`` in the sample metadata, recorded by the task's
solver) + the times Inspect re-ran the sample after an error (``retries`` of the summary:
``retry_on_error``, e.g. for an unreadable body or an empty ``choices``).  A sample that still
ends with an error is *failed*: the annotation table leaves it out and its reader reports it
(never a silent gap); re-running the same ``eval_set`` / ``partynli run`` retries it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Columns of :func:`sample_attempts`.
ATTEMPT_COLUMNS = ("log", "sample_id", "epoch", "attempts", "http_retries", "sample_retries",
                   "error")  # fmt: skip


def sample_attempts(logs: Iterable[str]) -> Any:
    """One row per (log, sample, epoch): its attempts and final error (``""`` if none)."""
    import pandas as pd
    from inspect_ai.log import read_eval_log_sample_summaries

    rows = []
    for log in logs:
        for summary in read_eval_log_sample_summaries(str(log)):
            http = int((summary.metadata or {}).get("http_retries") or 0)
            retried = int(summary.retries or 0)
            rows.append((str(log), str(summary.id), int(summary.epoch), 1 + http + retried,
                         http, retried, summary.error or ""))  # fmt: skip
    return pd.DataFrame(rows, columns=list(ATTEMPT_COLUMNS))


@dataclass(frozen=True)
class RequestStats:
    """Totals of :func:`sample_attempts`: annotations, requests sent (attempts), requests
    retried (attempts beyond the first) and annotations failed (ended with an error)."""

    samples: int
    sent: int
    retried: int
    failed: int

    @classmethod
    def of(cls, attempts: Any) -> RequestStats:
        return cls(
            samples=len(attempts),
            sent=int(attempts["attempts"].sum()),
            retried=int((attempts["attempts"] - 1).sum()),
            failed=int((attempts["error"] != "").sum()),
        )

    def line(self) -> str:
        return (
            f"{self.samples} annotations: {self.sent} requests sent, {self.retried} retried, "
            f"{self.failed} failed"
        )
