"""ragdsl: a declarative language and compiler for RAG experiments."""

from ragdsl._version import __version__

__all__ = ["__version__"]
