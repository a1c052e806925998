"""Tidy tables: the result of a sweep, one row per (point, replica)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Table"]


class Table:
    """A tidy table: equal-length named NumPy columns, one row per observation.

    A sweep's table has one column per parameter, `replica`, and one per metric (a
    metric of shape `s` per point is a column of shape `(n_rows, *s)`; CSV/rows flatten
    it to `name[i]` / `name[i,j]` columns). `meta` holds facts about how the table was
    made (timings, chunks) and is not part of the data.
    """

    def __init__(
        self, columns: Mapping[str, Any], meta: Mapping[str, Any] | None = None
    ):
        if not isinstance(columns, Mapping):
            raise TypeError(
                f"`columns` must be a mapping of column name -> values, got "
                f"{type(columns).__name__}"
            )
        if meta is not None and not isinstance(meta, Mapping):
            raise TypeError(f"`meta` must be a mapping, got {type(meta).__name__}")
        cols = {str(k): np.asarray(v) for k, v in columns.items()}
        lengths = {k: (v.shape[0] if v.ndim else None) for k, v in cols.items()}
        if any(n is None for n in lengths.values()):
            bad = [k for k, n in lengths.items() if n is None]
            raise ValueError(f"`columns` must be arrays with a row axis; scalar: {bad}")
        if len(set(lengths.values())) > 1:
            raise ValueError(f"`columns` have different lengths: {lengths}")
        self._columns = cols
        self.meta = dict(meta or {})

    @property
    def columns(self) -> dict[str, np.ndarray]:
        return dict(self._columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def __len__(self) -> int:
        return next(iter(self._columns.values())).shape[0] if self._columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __repr__(self) -> str:
        return f"Table(n_rows={len(self)}, columns={list(self._columns)})"

    def equals(self, other: Table) -> bool:
        """Same column names, dtypes and values (NaNs equal); `meta` ignored."""
        if not isinstance(other, Table) or self.names != other.names:
            return False
        for k in self.names:
            a, b = self[k], other[k]
            if a.dtype != b.dtype or a.shape != b.shape:
                return False
            if not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
                return False
        return True

    def flat_columns(self) -> dict[str, np.ndarray]:
        """Columns with array-valued cells split into scalar columns `name[i,j]`."""
        out = {}
        for k, v in self._columns.items():
            if v.ndim == 1:
                out[k] = v
                continue
            for idx in np.ndindex(*v.shape[1:]):
                out[f"{k}[{','.join(map(str, idx))}]"] = v[(slice(None), *idx)]
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per row (array cells flattened).

        Ints and bools become Python scalars; floats stay NumPy scalars of their column's
        dtype, so a CSV written from the rows shows a float32 value at float32 precision
        (`0.05`, not `0.05000000074505806`).
        """
        flat = self.flat_columns()
        lists = {
            k: list(v) if np.issubdtype(v.dtype, np.floating) else v.tolist()
            for k, v in flat.items()
        }
        return [{k: lists[k][i] for k in flat} for i in range(len(self))]

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Writes the table as CSV atomically; returns the path."""
        from .. import io

        return io.write_csv(path, self.to_rows(), columns=list(self.flat_columns()))

    def to_pandas(self):
        """A `pandas.DataFrame` of `flat_columns()`; needs pandas (not a dependency)."""
        try:
            import pandas as pd
        except ImportError as err:
            raise ImportError(
                "Table.to_pandas needs pandas, which is not installed; "
                "use to_rows() or to_csv() instead"
            ) from err
        return pd.DataFrame(self.flat_columns())
