"""Which column plays which role: :class:`DataKind` and :class:`ColumnMap`.

Shared by column guessing, validation and loading; :mod:`hiermod.data` re-exports both.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hiermod.errors import DataError


class DataKind(StrEnum):
    """What one row of the table holds."""

    SUMMARY = "summary"  # one row per group: estimate y and its standard error se
    GAUSSIAN = "gaussian"  # one row per observation: group label and numeric outcome
    BINOMIAL = "binomial"  # successes y out of trials (trials None: y is 0/1 per row)
    POISSON = "poisson"  # event counts y with an exposure (None: exposure 1)


@dataclass(frozen=True)
class ColumnMap:
    """Which column plays which role; ``kind`` says which roles are needed."""

    group: str
    y: str
    kind: DataKind
    se: str | None = None
    trials: str | None = None
    exposure: str | None = None
    covariates: tuple[str, ...] = ()
    outer_groups: tuple[str, ...] = ()
    """Grouping columns that enclose ``group``, outermost first (nested data); ``group`` is the innermost."""

    def __post_init__(self) -> None:
        try:
            kind = DataKind(self.kind)
        except ValueError:
            kinds = ", ".join(k.value for k in DataKind)
            raise DataError(f"Unknown data kind {self.kind!r}; choose one of {kinds}.") from None
        object.__setattr__(self, "kind", kind)
        if isinstance(self.covariates, str):
            object.__setattr__(self, "covariates", (self.covariates,))
        else:
            object.__setattr__(self, "covariates", tuple(self.covariates))
        outer = (self.outer_groups,) if isinstance(self.outer_groups, str) else tuple(self.outer_groups)
        object.__setattr__(self, "outer_groups", outer)

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Every grouping column, outermost first."""
        return self.outer_groups + (self.group,)

    def roles(self) -> dict[str, str]:
        """Role name -> column name for every single-column role that is set."""
        named = {"group": self.group, "y": self.y, "se": self.se, "trials": self.trials,
                 "exposure": self.exposure}
        return {role: col for role, col in named.items() if col is not None}
