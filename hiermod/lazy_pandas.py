"""``pandas``, imported on first use.

The dashboard's first page needs the data modules' names but no pandas (bench/DECISIONS.md), so
they hold a :class:`LazyPandas` in their ``pd`` instead of the module::

    pd = LazyPandas(globals())

The first attribute access imports pandas and puts the real module in that ``pd``.
"""

from __future__ import annotations

from typing import Any


class LazyPandas:
    """Stands in for ``pandas`` in one module's namespace until first used."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def __getattr__(self, name: str):
        import pandas

        self._namespace["pd"] = pandas
        return getattr(pandas, name)
