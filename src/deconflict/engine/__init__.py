"""The rules, the spatial-temporal index and the checker. Pure: no I/O."""

from deconflict.engine.checker import Engine

__all__ = ["Engine"]
