"""Overrides applied before checking: `--profile FILE` lines, then `--set kind.name.param=value`.

A profile is a file of overrides, one per line (`finetune.tuned.samples = sweep(20, 50)`),
with `#` comments: a named set of changes to a spec, such as a small CPU run of a
large design, that is shared as a file instead of a long command line. Its errors
point at its own lines, and paths in its values are relative to its folder.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ragdsl.diagnostics import Diagnostic, Span, error
from ragdsl.semantics import schema
from ragdsl.semantics.program import Program
from ragdsl.source import SourceFile, display_path
from ragdsl.suggest import did_you_mean, one_of
from ragdsl.syntax import ast
from ragdsl.syntax.parser import parse_expr


def apply_overrides(program: Program, overrides: list[str],
                    profiles: list[Path] | tuple[Path, ...] = ()) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    for i, profile in enumerate(profiles, 1):
        diagnostics.extend(_apply_profile(program, Path(profile), i))
    for i, text in enumerate(overrides, 1):
        file = f"<--set {i}>"
        program.sources[file] = SourceFile(file, Path.cwd() / file, text)
        parsed, diags = parse_expr(text, file, start="override")
        if diags or parsed is None:
            diagnostics.extend(diags or [error("E101", "could not read this override", Span(file, 1, 1, 1, 2))])
            continue
        names, value = parsed  # type: ignore[misc]
        diagnostics.extend(_apply(program, names, value, Span(file, 1, 1, 1, len(text) + 1)))
    return diagnostics


def _apply_profile(program: Program, path: Path, position: int) -> list[Diagnostic]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        file = f"<--profile {position}>"
        program.sources[file] = SourceFile(file, Path.cwd() / file, str(path))
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return [error("E701", f"cannot read the profile '{path}': {reason}", Span(file, 1, 1, 1, len(str(path)) + 1),
                      help="give the path of a file of overrides, one `KIND.NAME.PARAM = VALUE` per line")]
    source = SourceFile(display_path(path.resolve()), path.resolve(), text)
    program.sources[source.display] = source
    diagnostics: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # Padding with the lines before keeps the parser's line numbers those of the file.
        parsed, diags = parse_expr("\n" * (number - 1) + line, source.display, start="override")
        if diags or parsed is None:
            diagnostics.extend(diags or [error("E101", "could not read this override",
                                               Span(source.display, number, 1, number, len(line) + 1))])
            continue
        names, value = parsed  # type: ignore[misc]
        start = len(line) - len(line.lstrip()) + 1
        span = Span(source.display, number, start, number, len(line.rstrip()) + 1)
        diagnostics.extend(_apply(program, names, value, span))
    return diagnostics


def _apply(program: Program, names: list[str], value: ast.Expr, span: Span) -> list[Diagnostic]:
    usage = "write --set KIND.NAME.PARAM=VALUE, e.g. --set finetune.tuned.epochs=3"
    if names and names[0] == "experiment":
        decl: ast.Decl | None = program.experiment()
        path = names[1:]
        if decl is None:
            return [error("E701", "the spec has no experiment declaration to override", span,
                          help="add `experiment NAME { }` to the spec")]
    else:
        if len(names) < 3:
            return [error("E701", f"'{'.'.join(names)}' does not name a parameter", span, help=usage)]
        kind, name, path = names[0], names[1], names[2:]
        if kind not in schema.DECL_SPECS:
            return [error("E701", f"unknown declaration kind '{kind}'", span,
                          help=did_you_mean(kind, schema.DECL_SPECS) or usage)]
        key = program.lookup(name, program.root.display)
        decl = program.decls.get(key) if key else None
        if decl is None or decl.kind != kind:
            same_kind = [program.names[k] for k, d in program.decls.items() if d.kind == kind]
            return [error("E701", f"no {kind} named '{name}'", span,
                          help=did_you_mean(name, same_kind) or f"{kind} declarations: {one_of(same_kind) or 'none'}")]
    assert decl is not None
    spec = schema.DECL_SPECS[decl.kind]
    if not path or spec.param(path[0]) is None:
        return [error("E701", f"{decl.kind} has no parameter '{'.'.join(path)}'", span,
                      help=did_you_mean(path[0] if path else "", [p.name for p in spec.params])
                      or f"parameters: {one_of(p.name for p in spec.params)}")]
    existing = decl.get(path[0])
    if len(path) == 1:
        new_assign = ast.Assign(path[0], value, span, span)
    else:
        # --set index.idx.store.url=...: change one argument of a constructor call
        if existing is None or not isinstance(existing.value, ast.Call) or len(path) != 2:
            return [error("E701", f"'{'.'.join(path)}' does not name an argument set in the spec", span,
                          help=f"override the whole value: --set {decl.kind}.{decl.name}.{path[0]}=...")]
        call = existing.value
        args = list(call.args)
        ctor = next((g[call.name] for g in schema.CTORS_BY_CATEGORY.values() if call.name in g), None)
        names = [p.name for p in ctor.params] if ctor is not None and ctor.variadic is None else []
        position = names.index(path[1]) if path[1] in names else -1
        if 0 <= position < len(args):
            args[position] = value  # given by position in the spec: replace it there
            kwargs = list(call.kwargs)
        else:
            kwargs = [k for k in call.kwargs if k.name != path[1]] + [ast.Kwarg(path[1], value, span)]
        new_assign = replace(existing, value=replace(call, args=tuple(args), kwargs=tuple(kwargs)))
    body = [a for a in decl.body if a.key != path[0]] + [new_assign]
    updated = decl.with_body(tuple(body))
    if isinstance(decl, ast.ExperimentDecl):
        module = program.modules[program.root.display]
        program.modules[program.root.display] = replace(
            module, decls=tuple(updated if d is decl else d for d in module.decls))
    else:
        program.decls[program.key_of(decl)] = updated
    return []
