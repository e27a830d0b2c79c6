"""Value types of declaration parameters, as the checker and the docs see them."""

from __future__ import annotations

from dataclasses import dataclass


class Type:
    def describe(self) -> str:  # "an integer", "a model or finetune"
        raise NotImplementedError

    def doc(self) -> str:  # short form for the language reference
        raise NotImplementedError


@dataclass(frozen=True)
class IntT(Type):
    min: int | None = None
    max: int | None = None

    def describe(self) -> str:
        return "an integer"

    def doc(self) -> str:
        return "int" + _range(self.min, self.max)


@dataclass(frozen=True)
class FloatT(Type):
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False

    def describe(self) -> str:
        return "a number"

    def doc(self) -> str:
        return "float" + _range(self.min, self.max, self.min_exclusive, self.max_exclusive)


@dataclass(frozen=True)
class StrT(Type):
    env_ok: bool = False  # may be written env("NAME"), resolved at run time
    nonempty: bool = True
    local_ok: bool = False  # a hub id that may also name a local path (from the working folder): confined

    def describe(self) -> str:
        return "a string"

    def doc(self) -> str:
        return "string" + (' | env("VAR")' if self.env_ok else "")


@dataclass(frozen=True)
class SecretT(Type):
    """Credentials: only ever `env("NAME")`, so they never sit in a spec."""

    def describe(self) -> str:
        return 'env("VAR")'

    def doc(self) -> str:
        return 'env("VAR") (secret)'


@dataclass(frozen=True)
class BoolT(Type):
    def describe(self) -> str:
        return "true or false"

    def doc(self) -> str:
        return "bool"


@dataclass(frozen=True)
class EnumT(Type):
    values: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.values)

    def doc(self) -> str:
        return " | ".join(self.values)


@dataclass(frozen=True)
class PathT(Type):
    """A path relative to the spec file that names it."""

    kind: str = "file"  # file | dir | glob (a file, a folder, or a glob pattern)
    must_exist: bool = True

    def describe(self) -> str:
        return {"file": "a file path", "dir": "a folder path", "glob": "a path or glob pattern"}[self.kind]

    def doc(self) -> str:
        return {"file": "path", "dir": "folder", "glob": "path | glob"}[self.kind]


@dataclass(frozen=True)
class DeclRefT(Type):
    kinds: tuple[str, ...]
    attrs: tuple[str, ...] = ()  # allowed `.attr` selections, e.g. questions' splits

    def describe(self) -> str:
        nouns = [{"questions": "question set"}.get(k, k) for k in self.kinds]
        return ("an " if nouns[0][0] in "aeiou" else "a ") + " or ".join(nouns)

    def doc(self) -> str:
        base = " | ".join(self.kinds)
        return base + (f" [.{'|'.join(self.attrs)}]" if self.attrs else "")


@dataclass(frozen=True)
class CtorT(Type):
    """A call of one of the constructors registered under `category`."""

    category: str

    def describe(self) -> str:
        return f"a {self.category.replace('_', ' ')}"

    def doc(self) -> str:
        return f"<{self.category}>"


@dataclass(frozen=True)
class ListT(Type):
    item: Type
    min_len: int = 0

    def describe(self) -> str:
        return f"a list of {self.item.doc()}"

    def doc(self) -> str:
        return f"[{self.item.doc()}, ...]"


@dataclass(frozen=True)
class MapT(Type):
    value: Type
    min_len: int = 0

    def describe(self) -> str:
        return f"a mapping {{name: {self.value.doc()}}}"

    def doc(self) -> str:
        return f"{{name: {self.value.doc()}}}"


@dataclass(frozen=True)
class AnyOfT(Type):
    options: tuple[Type, ...]

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)

    def doc(self) -> str:
        return " | ".join(o.doc() for o in self.options)


@dataclass(frozen=True)
class MetricT(Type):
    def describe(self) -> str:
        return "a metric"

    def doc(self) -> str:
        return "<metric>"


@dataclass(frozen=True)
class SystemT(Type):
    """A pipeline applied to its arguments: `rag(base)`."""

    def describe(self) -> str:
        return "a pipeline call such as rag(base)"

    def doc(self) -> str:
        return "<pipeline>(args)"


@dataclass(frozen=True)
class ScalarT(Type):
    """Any literal value (named sweep values)."""

    def describe(self) -> str:
        return "a value"

    def doc(self) -> str:
        return "value"


def _range(lo, hi, lo_ex: bool = False, hi_ex: bool = False) -> str:
    if lo is None and hi is None:
        return ""
    left = ("(" if lo_ex else "[") + (str(lo) if lo is not None else "")
    right = (str(hi) if hi is not None else "") + (")" if hi_ex else "]")
    return f" {left}, {right}".replace("[, ", "(.., ").replace(", ]", ", ..)")
