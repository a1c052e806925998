"""Named parameter grids: the points a sweep evaluates."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validate import check_int

__all__ = ["Grid"]

#: Column names a parameter may not take (the table's own columns).
_RESERVED = ("replica",)


class Grid:
    """Named parameter points: a cartesian product or a zip of value lists.

    Every parameter is a 1-D array of numbers (bool, int or float) with one value per
    point. Combine grids with `*` (cartesian product, left factor varying slowest):
    `Grid.product(q=[2, 3]) * Grid.zip(n=[100, 1000], k=[4.0, 8.0])` has 4 points.

    Example:
      >>> g = Grid.product(beta=[0.5, 1.0], q=[2, 3, 4])
      >>> len(g), g.point(1)
      (6, {'beta': 0.5, 'q': 3})
    """

    def __init__(self, columns: Mapping[str, Any] | None = None, *, n_points: int = 1):
        if columns is not None and not isinstance(columns, Mapping):
            raise TypeError(
                f"`columns` must be a mapping of parameter name -> values, got "
                f"{type(columns).__name__}"
            )
        cols = {} if columns is None else dict(columns)
        out: dict[str, np.ndarray] = {}
        length = None
        for name, values in cols.items():
            _check_name(name)
            arr = _as_column(name, values)
            if length is None:
                length = arr.shape[0]
            elif arr.shape[0] != length:
                raise ValueError(
                    f"grid parameters have different lengths: `{name}` has "
                    f"{arr.shape[0]} values, earlier ones {length}"
                )
            out[name] = arr
        self._columns = out
        n_points = check_int("n_points", n_points, min_value=1)
        self._n = length if length is not None else n_points

    @classmethod
    def product(cls, **axes: Any) -> Grid:
        """Cartesian product; the first axis varies slowest (as `itertools.product`)."""
        arrays = {name: _as_column(name, v) for name, v in axes.items()}
        if not arrays:
            return cls({})
        mesh = np.meshgrid(*arrays.values(), indexing="ij")
        return cls({name: m.reshape(-1) for name, m in zip(arrays, mesh)})

    @classmethod
    def zip(cls, **axes: Any) -> Grid:
        """Points side by side: every parameter has the same number of values."""
        return cls(axes)

    def __mul__(self, other: Grid) -> Grid:
        if not isinstance(other, Grid):
            return NotImplemented
        clash = set(self.names) & set(other.names)
        if clash:
            raise ValueError(f"cannot combine grids sharing parameters {sorted(clash)}")
        a, b = len(self), len(other)
        cols = {k: np.repeat(v, b) for k, v in self._columns.items()}
        cols.update({k: np.tile(v, a) for k, v in other._columns.items()})
        return Grid(cols, n_points=a * b)

    def __len__(self) -> int:
        return self._n

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._columns)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Parameter name -> values, one per point (copies)."""
        return {k: v.copy() for k, v in self._columns.items()}

    def point(self, i: int) -> dict[str, Any]:
        """The parameters of point `i` as Python scalars."""
        i = check_int("i", i)
        if not 0 <= i < self._n:
            raise IndexError(f"point {i} out of range for a grid of {self._n} points")
        return {k: v[i].item() for k, v in self._columns.items()}

    def __repr__(self) -> str:
        return f"Grid(n_points={self._n}, names={list(self.names)})"

    def _digest(self) -> str:
        h = hashlib.sha256(str(self._n).encode())
        for name, col in self._columns.items():
            h.update(name.encode() + b"\0" + col.dtype.str.encode() + b"\0")
            h.update(np.ascontiguousarray(col).tobytes())
        return h.hexdigest()


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"parameter name {name!r} must be a Python identifier")
    if name in _RESERVED:
        raise ValueError(
            f"parameter name {name!r} is reserved for the table's own column"
        )


def _as_column(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(
            f"parameter `{name}` must be a 1-D list of values, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"parameter `{name}` has no values")
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"parameter `{name}` must hold numbers (bool, int or float), got "
            f"dtype {arr.dtype}; sweep passes parameters to JAX"
        )
    return arr
