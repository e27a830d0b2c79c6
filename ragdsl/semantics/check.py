"""Type and value checks of every declaration against the schema.

`check_program` resolves every reference, checks each value against its
parameter's type, and records what it learnt (reference targets, pipeline
parameter types) in a `Resolution` that later stages read instead of
resolving again. Cross-declaration rules live in `rules.py`.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.access import files_below
from ragdsl.diagnostics import Diagnostic, Span, error, warning
from ragdsl.semantics import schema
from ragdsl.semantics.program import DeclKey, Program, outside_project
from ragdsl.semantics.types import (
    AnyOfT,
    BoolT,
    CtorT,
    DeclRefT,
    EnumT,
    FloatT,
    IntT,
    ListT,
    MapT,
    PathT,
    SecretT,
    StrT,
    Type,
)
from ragdsl.suggest import closest, did_you_mean, one_of
from ragdsl.syntax import ast

PARAM_ANNOTATIONS: dict[str, Type] = {
    "int": IntT(),
    "float": FloatT(),
    "string": StrT(),
    "bool": BoolT(),
    "model": schema.GENERATOR,
    "generator": schema.GENERATOR,
    "finetune": DeclRefT(("finetune",)),
    "index": DeclRefT(("index",)),
    "corpus": DeclRefT(("corpus",)),
    "questions": DeclRefT(("questions",), schema.QUESTION_SPLITS),
    "retriever": CtorT("retriever"),
    "reranker": CtorT("reranker"),
    "prompt": CtorT("prompt"),
}


@dataclass
class Resolution:
    """What checking learnt, keyed by the span of the expression concerned."""

    refs: dict[Span, DeclKey] = field(default_factory=dict)  # Ref -> declaration
    pipeline_params: dict[tuple[DeclKey, str], Type] = field(default_factory=dict)
    pipeline_calls: dict[Span, DeclKey] = field(default_factory=dict)  # system Call -> pipeline
    ctors: dict[Span, schema.CtorSpec] = field(default_factory=dict)  # Call (or bare name) -> constructor
    paths: dict[Span, tuple[Path, str]] = field(default_factory=dict)  # Str -> (absolute path, kind)
    words: dict[Span, str] = field(default_factory=dict)  # enum values: bf16, "bf16" and 4 vs "4" alike


@dataclass
class _Ctx:
    program: Program
    decl: ast.Decl
    pipeline: DeclKey | None = None  # set while checking a pipeline's body

    @property
    def file(self) -> str:
        return self.decl.span.file


class Checker:
    def __init__(self, program: Program):
        self.program = program
        self.resolution = Resolution()
        self.diagnostics: list[Diagnostic] = []

    def err(self, *args, **kwargs) -> None:
        self.diagnostics.append(error(*args, **kwargs))

    # ---------------------------------------------------------- declarations
    def run(self) -> None:
        decls = sorted(self.program.decls.items())
        # Pipelines first: their parameter types are inferred from their bodies
        # and then checked at every call site.
        for key, decl in decls:
            if isinstance(decl, ast.PipelineDecl):
                self.check_pipeline(key, decl)
        for _, decl in decls:
            if not isinstance(decl, ast.PipelineDecl):
                self.check_body(decl, _Ctx(self.program, decl))
        experiment = self.program.experiment()
        if experiment is not None:
            self.check_body(experiment, _Ctx(self.program, experiment))

    def check_body(self, decl: ast.Decl, ctx: _Ctx) -> None:
        spec = schema.DECL_SPECS[decl.kind]
        seen: dict[str, ast.Assign] = {}
        for assign in decl.body:
            param = spec.param(assign.key)
            if param is None:
                self.err("E301", f"{decl.kind} has no parameter '{assign.key}'", assign.key_span,
                         label="unknown parameter",
                         help=did_you_mean(assign.key, [p.name for p in spec.params])
                         or f"{decl.kind} parameters: {one_of(p.name for p in spec.params)}")
                continue
            if assign.key in seen:
                self.err("E304", f"'{assign.key}' is set twice", assign.key_span,
                         notes=[f"first set at {seen[assign.key].span.short()}"], help="remove one of them")
                continue
            seen[assign.key] = assign
            if isinstance(assign.value, ast.NoneLit) and not param.required and not param.has_default:
                continue  # explicitly unset, the same as leaving it out
            self.check_value(assign.value, param.type, ctx, sweepable=param.sweepable)
        for param in spec.params:
            if param.required and param.name not in seen:
                self.err("E302", f"{decl.kind} '{decl.name}' is missing '{param.name}'", decl.name_span,
                         label=f"needs {param.name}",
                         help=f"add `{param.name} = ...`: {param.doc} ({param.type.doc()})")

    def check_pipeline(self, key: DeclKey, decl: ast.PipelineDecl) -> None:
        params = decl.params or ()
        names: dict[str, ast.Param] = {}
        for p in params:
            if p.name in names:
                self.err("E304", f"pipeline parameter '{p.name}' is declared twice", p.span,
                         help="rename one of them")
            names[p.name] = p
            if p.type_name is not None:
                annotated = PARAM_ANNOTATIONS.get(p.type_name)
                if annotated is None:
                    self.err("E303", f"unknown parameter type '{p.type_name}'", p.span,
                             help=did_you_mean(p.type_name, PARAM_ANNOTATIONS)
                             or f"types: {one_of(PARAM_ANNOTATIONS)}")
                else:
                    self.resolution.pipeline_params[(key, p.name)] = annotated
        self.check_body(decl, _Ctx(self.program, decl, pipeline=key))
        for p in params:
            inferred = self.resolution.pipeline_params.get((key, p.name))
            if inferred is None:
                self.diagnostics.append(warning("W301", f"pipeline parameter '{p.name}' is never used", p.span,
                                                help="remove it, or use it in the pipeline's body"))
            elif p.default is not None:
                self.check_value(p.default, inferred, _Ctx(self.program, decl), sweepable=True)

    # ---------------------------------------------------------------- values
    def check_value(self, expr: ast.Expr, type_: Type, ctx: _Ctx, *, sweepable: bool) -> bool:
        if isinstance(expr, ast.Sweep):
            return self.check_sweep(expr, type_, ctx, sweepable)
        if isinstance(expr, ast.Ref) and len(expr.parts) == 1 and ctx.pipeline is not None:
            param = self._pipeline_param(ctx, expr.parts[0])
            if param is not None:
                return self.use_pipeline_param(ctx.pipeline, param, type_, expr)
        if isinstance(expr, ast.Ref):
            named = self._named_sweep(expr, ctx)
            if named is not None:
                return self.check_named_sweep(expr, named, type_, ctx, sweepable)
        checker = getattr(self, "check_" + type(type_).__name__)
        return bool(checker(expr, type_, ctx, sweepable))

    def check_sweep(self, expr: ast.Sweep, type_: Type, ctx: _Ctx, sweepable: bool) -> bool:
        if not sweepable:
            self.err("E403", "this parameter cannot be swept", expr.span,
                     help="give one value; to compare systems, sweep a pipeline argument instead: "
                     "rag(base, k = sweep(3, 5))" if ctx.decl.kind == "evaluate" else "give one value here")
            return False
        if not expr.values:
            self.err("E402", "empty sweep", expr.span, label="needs at least one value",
                     help="list the values to try: sweep(200, 500, 1000)")
            return False
        ok = True
        seen: list[str] = []
        for value in expr.values:
            if isinstance(value, ast.Sweep):
                self.err("E403", "a sweep cannot contain another sweep", value.span,
                         help="put all values in one sweep, or sweep two parameters separately")
                ok = False
                continue
            ok = self.check_value(value, type_, ctx, sweepable=False) and ok
            text = _literal_text(value)
            if text in seen:
                self.diagnostics.append(warning("W402", f"sweep value {text} is repeated", value.span,
                                                help="remove the duplicate; the value is planned once"))
            seen.append(text)
        return ok

    def check_named_sweep(self, ref: ast.Ref, key: DeclKey, type_: Type, ctx: _Ctx, sweepable: bool) -> bool:
        self.resolution.refs[ref.span] = key
        if not sweepable:
            self.err("E403", "this parameter cannot be swept", ref.span,
                     help=f"'{ref.dotted}' is a sweep; give a single value here")
            return False
        decl = self.program.decls[key]
        values = decl.get("values")
        if values is None or not isinstance(values.value, ast.ListExpr):
            return True  # reported on the sweep declaration itself
        ok = True
        for item in values.value.items:
            before = len(self.diagnostics)
            ok = self.check_value(item, type_, _Ctx(self.program, decl), sweepable=False) and ok
            if len(self.diagnostics) > before:
                self.diagnostics.append(error(
                    "E303", f"sweep '{ref.dotted}' has a value that does not fit here", ref.span,
                    label=f"expects {type_.describe()}", help="see the error on the sweep's value"))
        return ok

    def use_pipeline_param(self, pipeline: DeclKey, name: str, type_: Type, ref: ast.Ref) -> bool:
        key = (pipeline, name)
        known = self.resolution.pipeline_params.get(key)
        if known is None:
            self.resolution.pipeline_params[key] = type_
        elif type(known) is not type(type_) and not isinstance(type_, AnyOfT):
            self.err("E303", f"pipeline parameter '{name}' is used as {type_.describe()} here",
                     ref.span, help=f"it is {known.describe()} elsewhere; use two parameters")
            return False
        return True

    def _pipeline_param(self, ctx: _Ctx, name: str) -> str | None:
        decl = self.program.decls[ctx.pipeline]  # type: ignore[index]
        return name if any(p.name == name for p in decl.params or ()) else None

    def _named_sweep(self, ref: ast.Ref, ctx: _Ctx) -> DeclKey | None:
        key = self.program.lookup(ref.parts[0], ctx.file)
        if key is not None and isinstance(self.program.decls[key], ast.SweepDecl) and len(ref.parts) == 1:
            return key
        return None

    # One method per type, named check_<TypeClass>.
    def check_IntT(self, expr, t: IntT, ctx, sweepable) -> bool:
        if not isinstance(expr, ast.Num) or isinstance(expr.value, float):
            return self.mismatch(expr, t, ctx)
        return self.in_range(expr, t.min, t.max, False, False)

    def check_FloatT(self, expr, t: FloatT, ctx, sweepable) -> bool:
        if not isinstance(expr, ast.Num):
            return self.mismatch(expr, t, ctx)
        return self.in_range(expr, t.min, t.max, t.min_exclusive, t.max_exclusive)

    def in_range(self, expr: ast.Num, lo, hi, lo_ex: bool, hi_ex: bool) -> bool:
        v = expr.value
        below = lo is not None and (v <= lo if lo_ex else v < lo)
        above = hi is not None and (v >= hi if hi_ex else v > hi)
        if below or above:
            if lo is not None and hi is not None:
                want = f"between {lo} and {hi}" + (" (exclusive)" if lo_ex or hi_ex else "")
            elif lo is not None:
                want = f"greater than {lo}" if lo_ex else f"at least {lo}"
            else:
                want = f"less than {hi}" if hi_ex else f"at most {hi}"
            self.err("E401", f"{expr.text} is out of range", expr.span, label=f"must be {want}",
                     help=f"use a value {want}")
            return False
        return True

    def check_StrT(self, expr, t: StrT, ctx, sweepable) -> bool:
        if isinstance(expr, ast.Call) and expr.name == schema.ENV_CALL and t.env_ok:
            return self.check_env(expr)
        if not isinstance(expr, ast.Str):
            return self.mismatch(expr, t, ctx)
        if t.nonempty and not expr.value.strip():
            self.err("E401", "empty string", expr.span, help="give a value, or leave the parameter out")
            return False
        if t.local_ok and _local_path(expr.value):
            local = Path(expr.value).expanduser().absolute()
            return self.readable([local], expr, local)
        return True

    def check_SecretT(self, expr, t: SecretT, ctx, sweepable) -> bool:
        if isinstance(expr, ast.Call) and expr.name == schema.ENV_CALL:
            return self.check_env(expr)
        if isinstance(expr, ast.Str):
            self.err("E405", "secrets must come from the environment, not the spec", expr.span,
                     label="a credential written in the spec", redact=True,
                     help='write env("VARIABLE") and export VARIABLE before running; specs are shared and logged')
            return False
        return self.mismatch(expr, t, ctx)

    def check_env(self, call: ast.Call) -> bool:
        if len(call.args) != 1 or call.kwargs or not isinstance(call.args[0], ast.Str):
            self.err("E303", 'env() takes one string: the variable name', call.span,
                     help='write env("ES_URL")')
            return False
        name = call.args[0].value
        if not name.replace("_", "").isalnum():
            self.err("E401", f"'{name}' is not an environment variable name", call.args[0].span,
                     help="use letters, digits and underscores")
            return False
        return True

    def check_BoolT(self, expr, t, ctx, sweepable) -> bool:
        return isinstance(expr, ast.Bool) or self.mismatch(expr, t, ctx)

    def check_EnumT(self, expr, t: EnumT, ctx, sweepable) -> bool:
        word = _enum_word(expr)
        if word is None:
            return self.mismatch(expr, t, ctx)
        if word not in t.values:
            self.err("E403", f"'{word}' is not a valid choice", expr.span, label=f"expected {t.describe()}",
                     help=did_you_mean(word, t.values) or f"choose one of: {', '.join(t.values)}")
            return False
        self.resolution.words[expr.span] = word
        return True

    def check_PathT(self, expr, t: PathT, ctx, sweepable) -> bool:
        if not isinstance(expr, ast.Str):
            return self.mismatch(expr, t, ctx)
        if not expr.value:
            self.err("E401", "empty path", expr.span, help="give a path relative to the spec file")
            return False
        base = self.program.directory_of(expr.span)
        target = base / expr.value
        try:
            target.exists()
        except (OSError, ValueError) as exc:  # NUL bytes, names too long for the filesystem
            self.err("E601", "invalid path", expr.span, label=str(getattr(exc, "strerror", None) or exc)[:80],
                     help="give a path relative to the spec file")
            return False
        # Where the path points is checked before whether it exists: a spec learns nothing outside its project.
        if not self.readable([target], expr):
            return False
        if not t.must_exist:
            return True
        if t.kind == "glob" and any(c in expr.value for c in "*?["):
            matches = globlib.glob(str(target), recursive=True)
            if not matches:
                self.err("E601", f"no files match '{expr.value}'", expr.span, label="matches nothing",
                         help=f"patterns are relative to {_shown(base)}")
                return False
            if not self.readable([f for m in matches for f in files_below(Path(m))], expr):
                return False
            self.resolution.paths[expr.span] = (target.resolve(), t.kind)
            return True
        exists = target.is_dir() if t.kind == "dir" else (target.exists() if t.kind == "glob" else target.is_file())
        if not exists:
            self.err("E601", f"{'folder' if t.kind == 'dir' else 'file'} not found: '{expr.value}'", expr.span,
                     label="does not exist", help=_missing_path_help(target, base))
            return False
        if t.kind != "file" and not self.readable(files_below(target), expr):
            return False
        self.resolution.paths[expr.span] = (target.resolve(), t.kind)
        return True

    def readable(self, paths, expr: ast.Str, named: Path | None = None) -> bool:
        """Whether every one of `paths` (read for `expr`) lies where the spec may read; E605 if not."""
        access = self.program.access
        outside = access.refused(paths) if access is not None else None
        if outside is None:
            return True
        named = named or self.program.directory_of(expr.span) / expr.value
        link = None if os.path.realpath(outside) == os.path.realpath(named) else _shown(outside)
        self.diagnostics.append(outside_project(expr.value, expr.span, access, "path", link))
        return False

    def check_DeclRefT(self, expr, t: DeclRefT, ctx, sweepable) -> bool:
        if not isinstance(expr, ast.Ref):
            return self.mismatch(expr, t, ctx)
        key = self.resolve(expr, ctx, t.kinds)
        if key is None:
            return False
        decl = self.program.decls[key]
        if decl.kind not in t.kinds:
            self.err("E203", f"expected {t.describe()}, but '{expr.parts[0]}' is {article(decl.kind)}",
                     expr.span, label=article(decl.kind), help=self._kind_help(t.kinds, ctx))
            return False
        attrs = expr.parts[1:]
        if len(attrs) > 1 or (attrs and attrs[0] not in t.attrs):
            bad = ".".join(attrs)
            if t.attrs:
                hint = did_you_mean(attrs[0], t.attrs) or f"choose one of: {', '.join(t.attrs)}"
                self.err("E306", f"{decl.kind} '{decl.name}' has no part '{bad}'", expr.span, help=hint)
            else:
                self.err("E306", f"'{expr.dotted}': a {decl.kind} has no parts to select", expr.span,
                         help=f"write just '{expr.parts[0]}'")
            return False
        return True

    def resolve(self, ref: ast.Ref, ctx: _Ctx, kinds: tuple[str, ...] = ()) -> DeclKey | None:
        name = ref.parts[0]
        key = self.program.lookup(name, ctx.file)
        if key is None:
            scope = self.program.scopes.get(ctx.file, {})
            preferred = [n for n, k in scope.items() if self.program.decls[k].kind in kinds] or list(scope)
            match = closest(name, preferred) or closest(name, scope)
            if match is not None:
                where = self.program.decls[scope[match]].name_span
                help_ = f"did you mean '{match}'? (declared at {where.short() if where.file == ctx.file else where.start()})"
            elif kinds and any(self.program.decls[scope[n]].kind in kinds for n in preferred):
                help_ = f"declared: {one_of(preferred)}"
            else:
                help_ = f"declare it, e.g. `{kinds[0] if kinds else 'corpus'} {name} {{ ... }}`"
            self.err("E201", f"unknown name '{name}'", ref.span, label="not declared", help=help_)
            return None
        self.resolution.refs[ref.span] = key
        return key

    def _kind_help(self, kinds: tuple[str, ...], ctx: _Ctx) -> str:
        scope = self.program.scopes.get(ctx.file, {})
        fits = sorted(n for n, k in scope.items() if self.program.decls[k].kind in kinds)
        return f"{' or '.join(kinds)} declarations: {one_of(fits)}" if fits else f"declare a {kinds[0]} first"

    def check_CtorT(self, expr, t: CtorT, ctx, sweepable) -> bool:
        ctors = schema.CTORS_BY_CATEGORY[t.category]
        if isinstance(expr, ast.Ref) and len(expr.parts) == 1 and expr.parts[0] in ctors:
            ctor = ctors[expr.parts[0]]
            if ctor.required or ctor.variadic:
                self.err("E302", f"{ctor.name} needs arguments", expr.span,
                         help=f"write {ctor.name}({', '.join(p.name + ' = ...' for p in ctor.required)})")
                return False
            self.resolution.ctors[expr.span] = ctor
            return True
        if not isinstance(expr, ast.Call):
            return self.mismatch(expr, t, ctx)
        ctor = ctors.get(expr.name)
        if ctor is None:
            what = t.category.replace("_", " ")
            other = next((c for c, group in schema.CTORS_BY_CATEGORY.items() if expr.name in group), None)
            note = [f"{expr.name}() is a {other.replace('_', ' ')}, not a {what}"] if other else []
            self.err("E307", f"unknown {what} '{expr.name}'", expr.name_span, label=f"not a {what}",
                     notes=note, help=did_you_mean(expr.name, ctors) or f"{what}s: {', '.join(sorted(ctors))}")
            return False
        self.resolution.ctors[expr.span] = ctor
        return self.check_call(expr, ctor, ctx, sweepable)

    def check_call(self, call: ast.Call, ctor: schema.CtorSpec, ctx: _Ctx, sweepable: bool) -> bool:
        ok = True
        given: dict[str, ast.Expr] = {}
        positional = list(ctor.params)
        for i, arg in enumerate(call.args):
            if ctor.variadic is not None:
                ok = self.check_value(arg, ctor.variadic.type, ctx, sweepable=sweepable) and ok
                continue
            if i >= len(positional):
                self.err("E308", f"{ctor.name}() takes at most {len(positional)} positional argument"
                         f"{'s' if len(positional) != 1 else ''}", _expr_span(arg),
                         help=f"name the argument: {ctor.name}({', '.join(p.name + ' = ...' for p in ctor.params)})"
                         if ctor.params else f"{ctor.name}() takes no arguments")
                ok = False
                continue
            given[positional[i].name] = arg
        if ctor.variadic is not None and len(call.args) < 2:
            self.err("E404", f"{ctor.name}() needs at least two {ctor.variadic.name}", call.span,
                     help=f"{ctor.variadic.doc}: {ctor.name}(bm25(idx), dense(idx))")
            ok = False
        for kw in call.kwargs:
            param = ctor.param(kw.name)
            if param is None:
                self.err("E301", f"{ctor.name}() has no parameter '{kw.name}'", kw.span,
                         help=did_you_mean(kw.name, [p.name for p in ctor.params])
                         or (f"parameters: {', '.join(p.name for p in ctor.params)}" if ctor.params
                             else f"{ctor.name}() takes no arguments"))
                ok = False
                continue
            if kw.name in given:
                self.err("E305", f"'{kw.name}' is given twice", kw.span,
                         help="it was already given by position; remove one")
                ok = False
                continue
            given[kw.name] = kw.value
        for param in ctor.params:
            if param.name in given:
                ok = self.check_value(given[param.name], param.type, ctx,
                                      sweepable=sweepable and param.sweepable) and ok
            elif param.required:
                self.err("E302", f"{ctor.name}() is missing '{param.name}'", call.span,
                         help=f"{param.name}: {param.doc}")
                ok = False
        return ok

    def check_ListT(self, expr, t: ListT, ctx, sweepable) -> bool:
        if not isinstance(expr, ast.ListExpr):
            return self.mismatch(expr, t, ctx, help_=f"wrap it in brackets: [{_literal_text(expr)}]"
                                 if not isinstance(expr, (ast.MapExpr,)) else "")
        if len(expr.items) < t.min_len:
            self.err("E404", f"needs at least {t.min_len} item{'s' if t.min_len != 1 else ''}", expr.span,
                     help=f"list {t.item.doc()} values inside the brackets")
            return False
        ok = True
        for item in expr.items:
            ok = self.check_value(item, t.item, ctx, sweepable=False) and ok
        return ok

    def check_MapT(self, expr, t: MapT, ctx, sweepable) -> bool:
        if not isinstance(expr, ast.MapExpr):
            return self.mismatch(expr, t, ctx)
        if len(expr.entries) < t.min_len:
            self.err("E404", "needs at least one entry", expr.span, help="write { name: value }")
            return False
        ok = True
        seen: dict[str, ast.Entry] = {}
        for entry in expr.entries:
            if entry.key in seen:
                self.err("E304", f"'{entry.key}' appears twice", entry.key_span,
                         notes=[f"first at {seen[entry.key].span.short()}"], help="names must be unique")
                ok = False
            seen[entry.key] = entry
            ok = self.check_value(entry.value, t.value, ctx, sweepable=sweepable) and ok
        return ok

    def check_AnyOfT(self, expr, t: AnyOfT, ctx, sweepable) -> bool:
        fitting = [o for o in t.options if _shape_fits(expr, o)]
        if not fitting:
            return self.mismatch(expr, t, ctx)
        # Try quietly; if none passes, report the errors of the first that fits the shape.
        for option in fitting:
            trial = Checker(self.program)
            trial.resolution = self.resolution
            if trial.check_value(expr, option, ctx, sweepable=sweepable) and not trial.diagnostics:
                return True
        return self.check_value(expr, fitting[0], ctx, sweepable=sweepable)

    def check_MetricT(self, expr, t, ctx, sweepable) -> bool:
        if isinstance(expr, ast.At):
            if expr.name not in schema.RETRIEVAL_AT_K:
                match = closest(expr.name, schema.RETRIEVAL_AT_K)
                self.err("E403", f"'{expr.name}@{expr.k}' is not a metric", expr.span,
                         help=(f"did you mean '{match}@{expr.k}'?" if match else "")
                         or f"metrics with a cut-off: {', '.join(m + '@k' for m in schema.RETRIEVAL_AT_K)}")
                return False
            if expr.k < 1:
                self.err("E401", "the cut-off must be at least 1", expr.span, help=f"write {expr.name}@5")
                return False
            return True
        word = _enum_word(expr)
        if word is None:
            return self.mismatch(expr, t, ctx)
        if word in schema.RETRIEVAL_AT_K:
            self.err("E403", f"'{word}' needs a cut-off", expr.span, help=f"write {word}@5")
            return False
        if word not in schema.METRICS:
            names = [*schema.METRICS, *(m + "@k" for m in schema.RETRIEVAL_AT_K)]
            self.err("E403", f"unknown metric '{word}'", expr.span,
                     help=did_you_mean(word, schema.METRICS) or f"metrics: {', '.join(names)}")
            return False
        return True

    def check_SystemT(self, expr, t, ctx, sweepable) -> bool:
        if isinstance(expr, ast.Ref) and len(expr.parts) == 1:
            expr = ast.Call(expr.parts[0], (), (), expr.span, expr.span)
        if not isinstance(expr, ast.Call):
            return self.mismatch(expr, t, ctx)
        key = self.resolve(ast.Ref((expr.name,), expr.name_span), ctx, ("pipeline",))
        if key is None:
            return False
        pipeline = self.program.decls[key]
        if not isinstance(pipeline, ast.PipelineDecl):
            self.err("E203", f"expected a pipeline, but '{expr.name}' is {article(pipeline.kind)}", expr.name_span,
                     help=self._kind_help(("pipeline",), ctx))
            return False
        self.resolution.pipeline_calls[expr.span] = key
        return self.check_pipeline_args(expr, key, pipeline, ctx)

    def check_pipeline_args(self, call: ast.Call, key: DeclKey, pipeline: ast.PipelineDecl, ctx: _Ctx) -> bool:
        params = list(pipeline.params or ())
        given: dict[str, ast.Expr] = {}
        ok = True
        for i, arg in enumerate(call.args):
            if i >= len(params):
                self.err("E308", f"pipeline {pipeline.name} takes {len(params)} argument"
                         f"{'s' if len(params) != 1 else ''}", _expr_span(arg),
                         help=f"declared as {pipeline.name}({', '.join(p.name for p in params)})")
                ok = False
                continue
            given[params[i].name] = arg
        names = [p.name for p in params]
        for kw in call.kwargs:
            if kw.name not in names:
                self.err("E301", f"pipeline {pipeline.name} has no parameter '{kw.name}'", kw.span,
                         help=did_you_mean(kw.name, names) or f"parameters: {', '.join(names) or 'none'}")
                ok = False
            elif kw.name in given:
                self.err("E305", f"'{kw.name}' is given twice", kw.span, help="remove one")
                ok = False
            else:
                given[kw.name] = kw.value
        for p in params:
            if p.name in given:
                type_ = self.resolution.pipeline_params.get((key, p.name))
                if type_ is not None:
                    ok = self.check_value(given[p.name], type_, ctx, sweepable=True) and ok
            elif p.default is None:
                self.err("E302", f"pipeline {pipeline.name} needs '{p.name}'", call.span,
                         help=f"pass it: {pipeline.name}({', '.join(names)})")
                ok = False
        return ok

    def check_ScalarT(self, expr, t, ctx, sweepable) -> bool:
        if isinstance(expr, (ast.Str, ast.Num, ast.Bool, ast.At)) or (
            isinstance(expr, ast.Ref) and len(expr.parts) == 1
        ):
            return True
        return self.mismatch(expr, t, ctx)

    def mismatch(self, expr: ast.Expr, t: Type, ctx: _Ctx, help_: str = "") -> bool:
        got = _describe_expr(expr, self.program, ctx.file)
        self.err("E303", f"expected {t.describe()}, got {got}", _expr_span(expr),
                 label=f"expected {t.doc()}", help=help_ or _example_help(t))
        return False


def check_program(program: Program) -> tuple[Resolution, list[Diagnostic]]:
    checker = Checker(program)
    checker.run()
    return checker.resolution, checker.diagnostics


# ------------------------------------------------------------------- helpers

NOUNS = {"questions": "question set"}


def article(kind: str) -> str:
    word = NOUNS.get(kind, kind)
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _enum_word(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Ref) and len(expr.parts) == 1:
        return expr.parts[0]
    if isinstance(expr, ast.Str):
        return expr.value
    if isinstance(expr, ast.Num):
        return expr.text
    return None


def _shape_fits(expr: ast.Expr, t: Type) -> bool:
    if isinstance(expr, ast.Sweep):
        return any(_shape_fits(v, t) for v in expr.values) or not expr.values
    if isinstance(t, (IntT, FloatT)):
        return isinstance(expr, ast.Num)
    if isinstance(t, (StrT, PathT)):
        return isinstance(expr, ast.Str) or (isinstance(expr, ast.Call) and expr.name == schema.ENV_CALL)
    if isinstance(t, EnumT):
        return (isinstance(expr, ast.Ref) and len(expr.parts) == 1 and expr.parts[0] in t.values) or (
            isinstance(expr, ast.Str) and expr.value in t.values)
    if isinstance(t, DeclRefT):
        return isinstance(expr, ast.Ref)
    if isinstance(t, CtorT):
        return isinstance(expr, ast.Call) or (
            isinstance(expr, ast.Ref) and expr.parts[0] in schema.CTORS_BY_CATEGORY[t.category])
    if isinstance(t, ListT):
        return isinstance(expr, ast.ListExpr)
    if isinstance(t, MapT):
        return isinstance(expr, ast.MapExpr)
    return True


def _expr_span(expr: ast.Expr) -> Span:
    return expr.span


def _literal_text(expr: ast.Expr) -> str:
    from ragdsl.syntax.format import format_expr

    return format_expr(expr)


def _describe_expr(expr: ast.Expr, program: Program, file: str) -> str:
    if isinstance(expr, ast.Str):
        return f'the string "{expr.value}"' if len(expr.value) < 40 else "a string"
    if isinstance(expr, ast.Num):
        return f"the number {expr.text}"
    if isinstance(expr, ast.Bool):
        return "a boolean"
    if isinstance(expr, ast.NoneLit):
        return "none"
    if isinstance(expr, ast.Ref):
        key = program.lookup(expr.parts[0], file)
        if key is not None:
            return f"{program.decls[key].kind} '{expr.dotted}'"
        return f"the name '{expr.dotted}'"
    if isinstance(expr, ast.Call):
        return f"a call of {expr.name}()"
    if isinstance(expr, ast.ListExpr):
        return "a list"
    if isinstance(expr, ast.MapExpr):
        return "a mapping"
    if isinstance(expr, ast.At):
        return f"'{expr.name}@{expr.k}'"
    return "a sweep"


def _example_help(t: Type) -> str:
    if isinstance(t, CtorT):
        names = sorted(schema.CTORS_BY_CATEGORY[t.category])
        return f"{t.category.replace('_', ' ')}s: {', '.join(n + '(...)' for n in names)}"
    if isinstance(t, StrT):
        return 'quote it: "like this"'
    if isinstance(t, EnumT):
        return f"choose one of: {', '.join(t.values)}"
    return ""


def _shown(path: Path) -> str:
    from ragdsl.source import display_path

    return display_path(path)


def _local_path(value: str) -> bool:
    """Whether a hub id is read as a local path instead (the libraries check the disk first)."""
    if value.startswith(("/", ".", "~")):
        return True
    try:
        return Path(value).exists()
    except (OSError, ValueError):
        return False


def _missing_path_help(target: Path, base: Path) -> str:
    parent = target.parent
    if parent.is_dir():
        match = closest(target.name, [p.name for p in parent.iterdir()])
        if match:
            return f"did you mean '{match}'? (in {_shown(parent)})"
    return f"paths are relative to the spec's folder ({_shown(base)})"
