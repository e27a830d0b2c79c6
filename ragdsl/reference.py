"""The language reference, generated from the schema so the docs cannot drift.

`language_reference()` renders every declaration kind, constructor, metric and
pipeline parameter annotation from `ragdsl.semantics.schema` (and the checker's
annotation table) as Markdown. docs/language.md holds it between the markers
below; a test fails when the two differ, so a schema change forces a docs
update:

    python -m ragdsl.reference            # print the generated section
    python -m ragdsl.reference --write    # rewrite it inside docs/language.md
    python -m ragdsl.reference --check    # exit 1 if docs/language.md is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from ragdsl.semantics import schema
from ragdsl.semantics.check import PARAM_ANNOTATIONS
from ragdsl.semantics.types import AnyOfT, CtorT, ListT, MapT, Type
from ragdsl.syntax.ast import SHORT_KEY

BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"
DEFAULT_DOC = Path(__file__).resolve().parent.parent / "docs" / "language.md"

_CATEGORY_TITLES = {
    "corpus_source": "Corpus sources",
    "questions_source": "Question sources",
    "splitter": "Splitters",
    "store": "Document stores",
    "model_source": "Model sources",
    "method": "Fine-tuning methods",
    "train_format": "Training-example formats",
    "retriever": "Retrievers",
    "reranker": "Rerankers",
    "prompt": "Prompts",
}


# ------------------------------------------------------------------ pieces

def _code(text: str) -> str:
    """Inline code inside a table cell: pipes escaped (GFM tables allow that in code spans)."""
    return "`" + text.replace("|", "\\|") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(param: schema.ParamSpec) -> str:
    if param.required:
        return "required"
    text = param.default_text
    return _code(text) if text is not None else "none"


def _row(name: str, type_: Type, default: str, doc: str) -> str:
    return f"| `{name}` | {_code(type_.doc())} | {default} | {_cell(doc)} |"


def _param_table(params: Iterable[schema.ParamSpec], *, note_sweepable: bool,
                 variadic: schema.ParamSpec | None = None) -> list[str]:
    lines = ["| parameter | type | default | description |", "|---|---|---|---|"]
    if variadic is not None:  # extra positional values; checked to be two or more
        lines.append(_row(variadic.name + "...", variadic.type, "required", variadic.doc))
    for p in params:
        doc = p.doc + (" (cannot be swept)" if note_sweepable and not p.sweepable else "")
        lines.append(_row(p.name, p.type, _default(p), doc))
    return lines


def _categories_in(type_: Type) -> list[str]:
    if isinstance(type_, CtorT):
        return [type_.category]
    if isinstance(type_, AnyOfT):
        return [c for o in type_.options for c in _categories_in(o)]
    if isinstance(type_, ListT):
        return _categories_in(type_.item)
    if isinstance(type_, MapT):
        return _categories_in(type_.value)
    return []


def _users(category: str) -> list[str]:
    """Where a constructor category is accepted: `corpus.source`, `with_context(retrieve)`, ..."""
    found: list[str] = []
    for decl in schema.DECLARATIONS:
        found += [f"`{decl.kind}.{p.name}`" for p in decl.params if category in _categories_in(p.type)]
    for ctor in schema.CONSTRUCTORS:
        params = [*ctor.params, *([ctor.variadic] if ctor.variadic else [])]
        found += [f"`{ctor.name}({p.name})`" for p in params if category in _categories_in(p.type)]
    found += [f"pipeline parameters annotated `: {name}`" for name, t in PARAM_ANNOTATIONS.items()
              if category in _categories_in(t)]
    return found


def _signature(ctor: schema.CtorSpec) -> str:
    parts = [f"{ctor.variadic.name}..."] if ctor.variadic else []
    for p in ctor.params:
        if p.required:
            parts.append(p.name)
        else:
            parts.append(f"{p.name} = {p.default_text if p.default_text is not None else 'none'}")
    return f"{ctor.name}({', '.join(parts)})"


# ---------------------------------------------------------------- sections

def _declarations() -> list[str]:
    lines = ["### Declarations", ""]
    lines.append("| kind | what it declares |")
    lines.append("|---|---|")
    lines += [f"| [`{d.kind}`](#{d.kind}) | {_cell(d.doc)} |" for d in schema.DECLARATIONS]
    for decl in schema.DECLARATIONS:
        lines += ["", f"#### {decl.kind}", "", decl.doc, ""]
        if decl.kind in SHORT_KEY:
            lines += [f"Short form: `{decl.kind} NAME = VALUE` sets `{SHORT_KEY[decl.kind]}`.", ""]
        if decl.example:
            lines += ["```rag", decl.example, "```", ""]
        lines += _param_table(decl.params, note_sweepable=True)
    return lines


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:].rstrip(".") + "."


def _constructors() -> list[str]:
    lines = ["### Constructors", "",
             "Arguments are given by name, or by position in the order listed; a constructor whose "
             "signature starts with `name...` takes only those values by position."]
    for category, ctors in schema.CTORS_BY_CATEGORY.items():
        title = _CATEGORY_TITLES.get(category, category.replace("_", " ").capitalize())
        lines += ["", f"#### {title} (`<{category}>`)"]
        users = _users(category)
        if users:
            lines += ["", "Accepted by " + ", ".join(users) + "."]
        for ctor in ctors.values():
            lines += ["", f"##### `{_signature(ctor)}`", "", _sentence(ctor.doc), ""]
            if ctor.params or ctor.variadic:
                lines += _param_table(ctor.params, note_sweepable=False, variadic=ctor.variadic)
            else:
                lines.append("Takes no arguments.")
    return lines


def _metrics() -> list[str]:
    groups = (
        ("judged by an LLM: the evaluation needs `judge`", schema.JUDGE_METRICS),
        ("answer", schema.ANSWER_METRICS),
        ("fact update: needs questions with previous (outdated or counterfactual) answers",
         schema.FACT_METRICS),
        ("retrieval", schema.RETRIEVAL_METRICS),
        ("retrieval, with a cut-off: write a positive integer for `k`, e.g. `recall@5`",
         tuple(f"{m}@k" for m in schema.RETRIEVAL_AT_K)),
    )
    lines = ["### Metrics", "", "Values of `evaluate.metrics`:", "", "| metric | kind |", "|---|---|"]
    for what, names in groups:
        lines += [f"| `{name}` | {what} |" for name in names]
    return lines


def _annotations() -> list[str]:
    lines = ["### Pipeline parameter annotations", "",
             "A pipeline parameter may be annotated, `pipeline rag(generator: model, k: int = 5)`, "
             "with one of these names; an unannotated parameter takes the type of the place it is used.",
             "", "| annotation | accepts |", "|---|---|"]
    lines += [f"| `{name}` | {_code(t.doc())} |" for name, t in PARAM_ANNOTATIONS.items()]
    return lines


def language_reference() -> str:
    """The generated part of docs/language.md (deterministic: the same schema gives the same bytes)."""
    lines = [
        "<!-- Generated from ragdsl/semantics/schema.py by `python -m ragdsl.reference --write`; "
        "do not edit by hand. -->",
        "",
        "## Reference",
        "",
        "Every declaration, parameter, default and type, generated from the schema the checker uses. "
        "A default of none means the parameter is absent unless set (its description says what "
        "that means); the type notation is explained under [Values and types](#values-and-types).",
        "",
        *_declarations(),
        "",
        *_constructors(),
        "",
        *_metrics(),
        "",
        *_annotations(),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------- docs/language.md

def splice(document: str, generated: str) -> str:
    """`document` with the text between the markers replaced by `generated`."""
    start = document.find(BEGIN)
    end = document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {BEGIN} and {END} are missing or out of order")
    head = document[: start + len(BEGIN)]
    return head + "\n" + generated + document[end:]


def generated_section(document: str) -> str:
    """The text between the markers, as `splice` writes it."""
    start = document.find(BEGIN)
    end = document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {BEGIN} and {END} are missing or out of order")
    return document[start + len(BEGIN):end].removeprefix("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ragdsl.reference", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="regenerate the section inside the document")
    mode.add_argument("--check", action="store_true", help="exit 1 if the document's section is stale")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="the document (default: docs/language.md)")
    args = parser.parse_args(argv)
    reference = language_reference()
    if not (args.write or args.check):
        sys.stdout.write(reference)
        return 0
    try:
        document = args.doc.read_text(encoding="utf-8")
        updated = splice(document, reference)
    except (OSError, ValueError) as exc:
        print(f"error: {args.doc}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if updated != document:
            print(f"{args.doc} is stale; run `python -m ragdsl.reference --write`", file=sys.stderr)
            return 1
        return 0
    if updated != document:
        args.doc.write_text(updated, encoding="utf-8")
        print(f"rewrote the generated section of {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
