"""The conventions of the label metrics, as one object threaded from the CLI to the engine.

Every choice the paper makes silently is a field here, with the paper's value as its default,
so that a reproduction is the default and a variation is one explicit argument:

``kl_epsilon``  (1e-10)
    added to both distributions before KL (both ways), so a label one side never uses costs
    ``log(1 / eps)`` instead of infinity (Table 5's KL columns).
``errors``  (``"category"``)
    parse failures in Krippendorff's alpha: a category of their own (the paper), or
    ``"missing"`` values.  They are always left out of label distributions.
``ddof``  (1)
    delta degrees of freedom of the std over items (the sample std of Tables 2 and 5).
``log_base``  (None: natural logarithm)
    of entropy and the Jensen-Shannon distance (nats, as the paper).
``n_boot``, ``level``, ``seed``  (1000, 0.95, 0)
    the seeded percentile bootstrap of the confidence intervals over items (``n_boot=0``: no
    intervals, NaN, and no time spent on them).

Two conventions belong to the dataset, not here: the rule that turns an annotator's several
labels into one, and the label order (ties in a majority go to the first label).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

ERRORS: tuple[str, ...] = ("category", "missing")


@dataclass(frozen=True)
class Conventions:
    """How the label metrics are computed; the defaults are the paper's (see module doc)."""

    kl_epsilon: float = 1e-10
    errors: str = "category"
    ddof: int = 1
    log_base: float | None = None
    n_boot: int = 1000
    level: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.errors not in ERRORS:
            raise ValueError(f"errors must be one of {', '.join(ERRORS)}, got {self.errors!r}")
        if not (self.kl_epsilon >= 0 and math.isfinite(self.kl_epsilon)):
            raise ValueError(f"kl_epsilon must be a finite number >= 0, got {self.kl_epsilon!r}")
        if isinstance(self.ddof, bool) or not isinstance(self.ddof, int) or self.ddof < 0:
            raise ValueError(f"ddof must be a whole number >= 0, got {self.ddof!r}")
        if self.log_base is not None and (self.log_base <= 0 or self.log_base == 1):
            raise ValueError(f"log_base must be positive and not 1, got {self.log_base!r}")
        if isinstance(self.n_boot, bool) or not isinstance(self.n_boot, int) or self.n_boot < 0:
            raise ValueError(f"n_boot must be a whole number >= 0, got {self.n_boot!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be between 0 and 1, got {self.level!r}")

    def replace(self, **changes: object) -> Conventions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def describe(self) -> str:
        """One line for reports: every convention and its value."""
        base = "natural log" if self.log_base is None else f"log base {self.log_base:g}"
        errors = "a category of their own" if self.errors == "category" else "missing values"
        return (
            f"entropy and JS in {base}; KL smoothed with {self.kl_epsilon:g} on both sides; "
            f"parse failures in alpha as {errors}; std over items with ddof={self.ddof}; "
            f"{self.level:.0%} percentile bootstrap over items ({self.n_boot} resamples, "
            f"seed {self.seed})"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


#: The paper's conventions.
PAPER = Conventions()
