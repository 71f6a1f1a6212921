"""Error types raised by hiermod.

Every error a user can cause is a :class:`HiermodError`. Its message says what was found, what
was expected and how to fix it, so the dashboard and the command line can show it as it is.
"""

from __future__ import annotations


class HiermodError(ValueError):
    """Base class of every error a user can cause (bad data, bad spec, bad prior)."""


class DataError(HiermodError):
    """The CSV or the column mapping cannot be turned into grouped data."""


class SpecError(HiermodError):
    """The model specification is inconsistent with itself or with the data."""


class PriorError(SpecError):
    """A prior's text could not be parsed, or its parameters are out of range."""


class FitError(HiermodError):
    """The sampler could not run (for example, no valid starting point was found)."""


class FitCancelled(HiermodError):
    """The fit was cancelled by the user before it finished."""
