"""The ``micropython`` module: ``const`` is the identity under CPython."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def const(value: T) -> T:
    return value
