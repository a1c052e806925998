"""Shared jaxtyping aliases."""

from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

__all__ = ["Array", "ArrayLike", "Bool", "Float", "Int", "PRNGKeyArray"]
