"""The Jinja2 templates a spec uses, checked before anything runs (E440, E441, E442, W440).

A spec supplies templates in two roles: a pipeline's prompt (`prompt =
template("x.jinja")` or `inline("...")`, also as a pipeline argument or a parameter's
default), rendered by Haystack's PromptBuilder with `question`, `documents` and, in
pipelines with few-shot examples, `examples`; and a fine-tune format's `target`,
rendered with StrictUndefined from ragdsl.lower.prompts.TARGET_VARIABLES. Each is
parsed and compiled in a sandboxed environment set up like the one that renders it,
then scanned for what the sandbox refuses (attributes starting with `_`, Python
internals, loading other templates) and for variables nothing passes.

Findings are located in the template's own text: a file's line and column, or the
column inside the spec's string literal. Only files the checker resolved
(`Resolution.paths`) are read, and jinja2 is imported only when a spec has a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ragdsl.diagnostics import Diagnostic, Span, error, warning
from ragdsl.semantics import schema
from ragdsl.semantics.check import Resolution
from ragdsl.semantics.program import Program
from ragdsl.source import MAX_SPEC_BYTES, SourceFile, decode, display_path
from ragdsl.suggest import did_you_mean
from ragdsl.syntax import ast

SYNTAX_HELP = "templates use Jinja2 syntax: {{ expression }}, {% if ... %}...{% endif %}, {% for ... %}...{% endfor %}"
SANDBOX_HELP = ("templates see only their variables' data: use fields such as document.content and Jinja2 "
                "filters; read a metadata key that starts with '_' as meta[\"_key\"]")
LOADERS = {"Include": ("include", "includes"), "Import": ("import", "imports"), "FromImport": ("from", "imports from"),
           "Extends": ("extends", "extends")}
# Filters that read an attribute named by a string (each dotted part through the sandbox's getitem).
ATTRIBUTE_FILTERS = {"map", "selectattr", "rejectattr", "groupby", "sort", "unique", "min", "max", "sum", "join"}
POSITIONAL_ATTRIBUTE = {"selectattr", "rejectattr", "groupby"}


@dataclass(frozen=True)
class Use:
    """One template a spec uses: its text (inline) or path (a file), its role and what its renderer passes."""

    expr: ast.Str
    inline: bool
    role: str  # "prompt" or "target"
    passed: tuple[str, ...]
    pipeline: str | None = None  # the pipeline a prompt belongs to, when known


@dataclass(frozen=True)
class Finding:
    """A problem at offsets [start, end) of a template's text."""

    code: str
    message: str
    start: int
    end: int
    label: str = ""
    help: str = ""
    notes: tuple[str, ...] = ()


def check_templates(program: Program, resolution: Resolution) -> tuple[dict[str, str], list[Diagnostic]]:
    """Check every template the spec uses: ({template file: text} for rendering, diagnostics)."""
    uses = template_uses(program, resolution)
    if not uses:
        return {}, []
    scanner = Scanner()
    files: dict[str, SourceFile | None] = {}
    diagnostics: list[Diagnostic] = []
    spec_lines: dict[str, list[str]] = {}  # each spec's lines, split once, when a finding needs them
    for use in uses:
        locate: Callable[[int, int], Span]
        if use.inline:
            text, locate = use.expr.value, _inline_locator(program, use.expr, spec_lines)
        else:
            resolved = resolution.paths.get(use.expr.span)
            if resolved is None:
                continue
            shown = display_path(resolved[0])
            if shown not in files:
                files[shown], problems = _read(resolved[0], shown)
                diagnostics += problems
            source = files[shown]
            if source is None:
                continue
            text, locate = source.text, _file_locator(source)
        for f in scanner.findings(text, use):
            diagnostics.append((warning if f.code.startswith("W") else error)(
                f.code, f.message, locate(f.start, f.end), label=f.label, help=f.help, notes=f.notes))
    return {k: v.text for k, v in files.items() if v is not None}, diagnostics


def scan(text: str, role: str = "prompt", passed: tuple[str, ...] | None = None) -> list[Finding]:
    """The findings for one template text, in a role (for tests and tools); offsets are into `text`."""
    if passed is None:
        passed = _target_variables() if role == "target" else _prompt_variables(few_shot=True)
    return Scanner().findings(text, Use(ast.Str(text, Span("<template>", 1, 1, 1, 1)), True, role, passed))


# ------------------------------------------------------------- where templates are


def template_uses(program: Program, resolution: Resolution) -> list[Use]:
    """Every `template(...)` and `inline(...)` of the spec, with the role it is rendered in."""
    uses: list[Use] = []

    def visit(expr: ast.Expr | None, role: str, pipeline: ast.Decl | None) -> None:
        if isinstance(expr, ast.Sweep | ast.ListExpr):
            for item in expr.values if isinstance(expr, ast.Sweep) else expr.items:
                visit(item, role, pipeline)
        elif isinstance(expr, ast.MapExpr):
            for entry in expr.entries:
                visit(entry.value, role, pipeline)
        elif isinstance(expr, ast.Call):
            called = resolution.pipeline_calls.get(expr.span)
            if called is not None:
                for value in (*expr.args, *(k.value for k in expr.kwargs)):
                    visit(value, "prompt", program.decls[called])
                return
            ctor = resolution.ctors.get(expr.span)
            if ctor is None:
                return
            if ctor.category == "prompt":
                if ctor.name in ("template", "inline"):
                    few_shot = pipeline is None or _has_examples(pipeline)
                    passed = _target_variables() if role == "target" else _prompt_variables(few_shot)
                    name = program.display_name(pipeline) if pipeline is not None else None
                    for text in _strings(_argument(expr, ctor, "path" if ctor.name == "template" else "text")):
                        uses.append(Use(text, ctor.name == "inline", role, passed, name))
                return
            for param, value in _arguments(expr, ctor):
                visit(value, "target" if ctor.category == "train_format" and param == "target" else role, pipeline)

    for _, decl in sorted(program.decls.items()):
        pipeline = decl if isinstance(decl, ast.PipelineDecl) else None
        for assign in decl.body:
            visit(assign.value, "prompt", pipeline)
        for param in decl.params or ():
            visit(param.default, "prompt", pipeline)
    return uses


def _prompt_variables(few_shot: bool) -> tuple[str, ...]:
    from ragdsl.lower.prompts import EXAMPLES_VARIABLE, PROMPT_VARIABLES

    return (*PROMPT_VARIABLES, *((EXAMPLES_VARIABLE,) if few_shot else ()))


def _target_variables() -> tuple[str, ...]:
    from ragdsl.lower.prompts import TARGET_VARIABLES

    return TARGET_VARIABLES


def _has_examples(pipeline: ast.Decl) -> bool:
    assign = pipeline.get("examples")
    return assign is not None and not isinstance(assign.value, ast.NoneLit)


def _arguments(call: ast.Call, ctor: schema.CtorSpec) -> Iterator[tuple[str, ast.Expr]]:
    for i, arg in enumerate(call.args):
        if ctor.variadic is not None:
            yield ctor.variadic.name, arg
        elif i < len(ctor.params):
            yield ctor.params[i].name, arg
    for kw in call.kwargs:
        yield kw.name, kw.value


def _argument(call: ast.Call, ctor: schema.CtorSpec, name: str) -> ast.Expr | None:
    return next((value for param, value in _arguments(call, ctor) if param == name), None)


def _strings(expr: ast.Expr | None) -> list[ast.Str]:
    if isinstance(expr, ast.Sweep):
        return [v for v in expr.values if isinstance(v, ast.Str)]
    return [expr] if isinstance(expr, ast.Str) else []


# ------------------------------------------------------------------ locations


def _read(path: Path, shown: str) -> tuple[SourceFile | None, list[Diagnostic]]:
    whole = Span(shown, 1, 1, 1, 1)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            return None, [error("E440", f"the template is too large to check ({size} bytes)", whole,
                                help=f"a template may be at most {MAX_SPEC_BYTES // (1024 * 1024)} MiB")]
        data = path.read_bytes()
    except OSError as exc:
        return None, [error("E440", f"cannot read the template: {exc.strerror or exc}", whole)]
    source, problems = decode(data, shown, path)
    return source, [replace(d, code="E440", help="save the template as UTF-8 text") for d in problems]


def _file_locator(source: SourceFile) -> Callable[[int, int], Span]:
    text = source.text

    def position(offset: int) -> tuple[int, int]:
        line = text.count("\n", 0, offset) + 1
        return line, offset - (text.rfind("\n", 0, offset) + 1) + 1

    def locate(start: int, end: int) -> Span:
        (line, col), (end_line, end_col) = position(start), position(max(end, start + 1))
        return Span(source.display, line, col, end_line, end_col)

    return locate


def _inline_locator(program: Program, expr: ast.Str, spec_lines: dict[str, list[str]]
                    ) -> Callable[[int, int], Span]:
    """Template offsets to columns of the string literal in the spec (escapes take more columns).

    Worked out on the first call only: most templates have no finding, and a spec may hold thousands.
    """
    span = expr.span
    found: list[list[int]] = []

    def columns() -> list[int]:
        if not found:
            source = program.sources.get(span.file)
            if source is not None and span.file not in spec_lines:
                spec_lines[span.file] = source.text.split("\n")
            lines = spec_lines.get(span.file, [])
            raw = lines[span.line - 1][span.col - 1:span.end_col - 1] if 0 < span.line <= len(lines) else ""
            found.append(_literal_columns(raw))
        return found[0]

    def locate(start: int, end: int) -> Span:
        at = columns()
        if span.end_line != span.line or len(at) != len(expr.value) + 1:
            return span
        start = min(start, len(expr.value))
        first = span.col + at[start]
        last = span.col + at[min(max(end, start + 1), len(expr.value))]
        return Span(span.file, span.line, first, span.line, max(last, first + 1))

    return locate


def _literal_columns(raw: str) -> list[int]:
    """Each decoded character's offset in a JSON string literal `raw` (quotes included), then the end's."""
    out, i, end = [], 1, len(raw) - 1
    while i < end:
        out.append(i)
        if raw[i] != "\\":
            i += 1
        elif raw[i + 1:i + 2] != "u":
            i += 2
        elif _high_surrogate(raw[i + 2:i + 6]) and raw[i + 6:i + 8] == "\\u":
            i += 12  # a surrogate pair decodes to one character
        else:
            i += 6
    out.append(max(end, 1))
    return out


def _high_surrogate(digits: str) -> bool:
    try:
        return 0xD800 <= int(digits, 16) < 0xDC00
    except ValueError:
        return False


# ------------------------------------------------------------------ scanning


@dataclass(frozen=True)
class Token:
    start: int
    lineno: int
    kind: str
    value: str


@dataclass
class Analysis:
    syntax: Finding | None
    unsafe: list[Finding]
    reads: dict[str, tuple[int, int]]  # variables read without a `default` or `is defined` guard


class Scanner:
    """Parses and scans template texts (each text once) with jinja2's sandboxed environment."""

    def __init__(self) -> None:
        import jinja2.sandbox as sandbox

        self.environments = {"prompt": _environment(prompt=True), "target": _environment(prompt=False)}
        self.internal = {"mro"}.union(*(getattr(sandbox, name, set()) for name in (
            "UNSAFE_FUNCTION_ATTRIBUTES", "UNSAFE_METHOD_ATTRIBUTES", "UNSAFE_GENERATOR_ATTRIBUTES",
            "UNSAFE_COROUTINE_ATTRIBUTES", "UNSAFE_ASYNC_GENERATOR_ATTRIBUTES")))
        self.cache: dict[tuple[str, str], Analysis] = {}

    def findings(self, text: str, use: Use) -> list[Finding]:
        key = (use.role, text)
        if key not in self.cache:
            self.cache[key] = _Scan(self, self.environments[use.role], text, use.role).run()
        analysis = self.cache[key]
        if analysis.syntax is not None:
            return [analysis.syntax]
        return analysis.unsafe + [_unknown(name, where, use) for name, where in analysis.reads.items()
                                  if name not in use.passed]

    def refused_attribute(self, name: str) -> bool:
        return name.startswith("_") or name in self.internal

    def refused_item(self, name: str) -> bool:
        return name.startswith("__") or name in self.internal


def _unknown(name: str, where: tuple[int, int], use: Use) -> Finding:
    if use.role == "target":
        return Finding("E442", f"the target template reads '{name}', which is not defined", *where,
                       label="fails at run time",
                       help=did_you_mean(name, use.passed) or f"a target template can use {', '.join(use.passed)}")
    if name == "examples" and use.pipeline is not None:
        return Finding("W440", f"the prompt template reads 'examples', but pipeline '{use.pipeline}' has no "
                       "few-shot examples", *where, label="renders empty",
                       help="add `examples = fewshot(pool = QUESTIONS.train)` to the pipeline, "
                            "or write `examples | default([])`")
    return Finding("W440", f"the prompt template reads '{name}', which the pipeline does not pass", *where,
                   label="renders empty",
                   help=did_you_mean(name, use.passed) or f"a prompt can use {', '.join(use.passed)}")


def _environment(prompt: bool) -> Any:
    """The sandbox a role renders in: a prompt's PromptBuilder adds a `{% now %}` tag when `arrow` is there."""
    import importlib.util

    from jinja2.sandbox import SandboxedEnvironment

    if not prompt or importlib.util.find_spec("arrow") is None:
        return SandboxedEnvironment()
    from jinja2 import nodes
    from jinja2.ext import Extension

    class NowTag(Extension):  # parses as haystack.utils.jinja2_extensions.Jinja2TimeExtension does
        tags = {"now"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            parser.parse_expression()
            if parser.stream.skip_if("comma"):
                parser.parse_expression()
            return nodes.Output([nodes.Const("")], lineno=lineno)

    return SandboxedEnvironment(extensions=[NowTag])


class _Scan:
    def __init__(self, scanner: Scanner, env: Any, text: str, role: str):
        self.scanner, self.env, self.text, self.role = scanner, env, text, role
        self.tokens: list[Token] = []  # the code tokens, with offsets
        self.claimed: set[int] = set()

    def run(self) -> Analysis:
        from jinja2.exceptions import TemplateSyntaxError

        try:
            tree = self.parse()
            if isinstance(tree, Finding):
                return Analysis(tree, [], {})
            self.env.compile(tree)
            problems = [*self.unknown_tests(tree), *self.unsafe(tree)]
            syntax = next((p for p in problems if p.code == "E440"), None)
            return Analysis(syntax, [p for p in problems if p.code != "E440"], self.reads(tree))
        except TemplateSyntaxError as exc:
            return Analysis(self.syntax_error(exc, None), [], {})
        except RecursionError:
            return Analysis(Finding("E440", f"the {self.role} template nests too deeply to parse", 0,
                                    len(self.text.split("\n", 1)[0]), help="flatten the template"), [], {})

    # -- parsing, with each token's offset so errors point at a column

    def parse(self) -> Any:
        from jinja2.exceptions import TemplateSyntaxError
        from jinja2.lexer import TokenStream
        from jinja2.parser import Parser

        raw, pos = [], 0
        try:
            for lineno, kind, value in self.env.lexer.tokeniter(self.text, None):
                start = self.text.find(value, pos) if value else -1
                start = pos if start < 0 else start
                pos = start + len(value)
                raw.append(Token(start, lineno, kind, value))
        except TemplateSyntaxError as exc:
            at = re.search(r" at (\d+)$", exc.message or "")
            return self.syntax_error(exc, int(at.group(1)) if at else self._next_code(pos))
        self.tokens = [t for t in raw if t.kind not in ("whitespace", "data", "comment", "comment_begin",
                                                         "comment_end", "linecomment")]
        wrapped, starts = [], {}
        for token in raw:
            try:
                converted = list(self.env.lexer.wrap([(token.lineno, token.kind, token.value)]))
            except TemplateSyntaxError as exc:
                return self.syntax_error(exc, token.start)
            for item in converted:
                wrapped.append(item)
                starts[id(item)] = token
        parser = Parser(self.env, self.text)
        parser.stream = TokenStream(iter(wrapped), None, None)
        try:
            return parser.parse()
        except TemplateSyntaxError as exc:
            failed = starts.get(id(parser.stream.current))
            if failed is None:  # the end of the template
                return self.syntax_error(exc, len(self.text))
            return self.syntax_error(exc, failed.start, len(failed.value.split("\n")[0].rstrip()))

    def syntax_error(self, exc: Any, offset: int | None, width: int = 1) -> Finding:
        message = re.sub(r" at \d+$", "", exc.message or "syntax error")
        message = message[:1].lower() + message[1:] if message[1:2].islower() else message
        first, _, rest = message.partition(". ")
        named = re.match(r"[Nn]o (filter|test) named '([^']+)'", message)
        help_ = SYNTAX_HELP
        if named:
            table = self.env.filters if named.group(1) == "filter" else self.env.tests
            help_ = did_you_mean(named.group(2), table) or f"Jinja2's {named.group(1)}s: see its documentation"
            if offset is None:
                offset, end = self.find(exc.lineno or 1, "name", named.group(2), after=("|", "is", "not"))
                return Finding("E440", f"the {self.role} template does not parse: {first.rstrip('.')}",
                               offset, end, label=f"unknown {named.group(1)}", help=help_)
        if offset is None:
            offset, end = self.line_of(exc.lineno or 1)
        else:
            offset = min(offset, len(self.text.rstrip()))
            end = offset + max(width, 1)
        return Finding("E440", f"the {self.role} template does not parse: {first.rstrip('.')}", offset, end,
                       label="Jinja2 syntax error", help=help_, notes=(rest,) if rest else ())

    def _next_code(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        return pos

    def line_of(self, lineno: int) -> tuple[int, int]:
        lines = self.text.split("\n")
        lineno = min(max(lineno, 1), len(lines))
        start = sum(len(line) + 1 for line in lines[:lineno - 1])
        content = lines[lineno - 1]
        indent = len(content) - len(content.lstrip())
        return start + indent, start + max(len(content.rstrip()), indent + 1)

    def find(self, lineno: int, kind: str, text: str, after: tuple[str, ...] | None = None,
             not_after: tuple[str, ...] = ()) -> tuple[int, int]:
        """The offsets of the first unclaimed token from line `lineno` on holding `text`."""
        for i, token in enumerate(self.tokens):
            if token.lineno < lineno or token.kind != kind or (kind == "name" and i in self.claimed):
                continue
            if (token.value != text) if kind == "name" else (text not in token.value):
                continue
            before = self.tokens[i - 1].value if i else ""
            if (after is not None and before not in after) or before in not_after:
                continue
            if kind == "name":
                self.claimed.add(i)
            inner = token.value.find(text)
            return token.start + inner, token.start + inner + len(text)
        return self.line_of(lineno)

    # -- what the sandbox refuses

    def unknown_tests(self, tree: Any) -> Iterator[Finding]:
        from jinja2 import nodes

        for node in tree.find_all(nodes.Test):
            if node.name not in self.env.tests:
                start, end = self.find(node.lineno, "name", node.name, after=("is", "not"))
                yield Finding("E440", f"the {self.role} template does not parse: no test named '{node.name}'",
                              start, end, label="unknown test",
                              help=did_you_mean(node.name, self.env.tests) or "see Jinja2's list of tests")

    def unsafe(self, tree: Any) -> Iterator[Finding]:
        from jinja2 import nodes

        refused = self.scanner
        for node in _walk(tree):
            kind = type(node).__name__
            if kind in LOADERS:
                tag, verb = LOADERS[kind]
                start, end = self.find(node.lineno, "name", tag, after=("{%", "{%-", "{%+"))
                yield Finding("E441", f"the {self.role} template {verb} another template, "
                              "which the sandbox cannot load", start, end, label="templates have no loader",
                              help="write the other template's text here (macros can be defined in the same template)")
            elif isinstance(node, nodes.Getattr) and refused.refused_attribute(node.attr):
                yield self.refusal(node.attr, self.find(node.lineno, "name", node.attr, after=(".",)))
            elif isinstance(node, nodes.Getitem) and refused.refused_item(key := _text(node.arg) or ""):
                yield self.refusal(key, self.find(node.lineno, "string", key))
            elif isinstance(node, nodes.Filter):
                yield from self.filter_reads(node)
            elif (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr)
                  and node.node.attr in ("format", "format_map") and _text(node.node.node) is not None):
                for is_attribute, name in _format_fields(_text(node.node.node) or ""):
                    if (refused.refused_attribute if is_attribute else refused.refused_item)(name):
                        yield self.refusal(name, self.find(node.lineno, "string", name))

    def filter_reads(self, node: Any) -> Iterator[Finding]:
        refused = self.scanner
        args = {kw.key: kw.value for kw in node.kwargs}
        texts = [_text(arg) for arg in node.args]
        if node.name == "attr" and texts and texts[0] is not None:
            names, attribute = [texts[0]], True
        elif node.name == "map" and len(texts) > 1 and texts[0] == "attr" and texts[1] is not None:
            names, attribute = [texts[1]], True
        elif node.name in ATTRIBUTE_FILTERS:
            value = args.get("attribute")
            if value is None and node.name in POSITIONAL_ATTRIBUTE and node.args:
                value = node.args[0]
            names, attribute = re.split(r"[.,]", _text(value) or ""), False
        else:
            return
        for name in names:
            name = name.strip()
            if (refused.refused_attribute if attribute else refused.refused_item)(name):
                yield self.refusal(name, self.find(node.lineno, "string", name))

    def refusal(self, name: str, where: tuple[int, int]) -> Finding:
        what = "starts with '_'" if name.startswith("_") else "a Python internal"
        return Finding("E441", f"the {self.role} template reads '{name}', which the sandbox refuses", *where,
                       label=what, help=SANDBOX_HELP)

    # -- variables

    def reads(self, tree: Any) -> dict[str, tuple[int, int]]:
        from jinja2 import meta, nodes

        undeclared = meta.find_undeclared_variables(tree)
        first: dict[str, int] = {}
        guarded: set[str] = set()
        for node, parent in _walk_with_parents(tree):
            if isinstance(node, nodes.Name) and node.ctx == "load" and node.name in undeclared:
                first[node.name] = min(first.get(node.name, node.lineno), node.lineno)
                if (isinstance(parent, nodes.Filter) and parent.name in ("default", "d") and parent.node is node) or (
                        isinstance(parent, nodes.Test) and parent.name in ("defined", "undefined")):
                    guarded.add(node.name)
        return {name: self.find(first[name], "name", name, not_after=(".", "|", "is"))
                for name in sorted(undeclared) if name in first and name not in guarded}


def _text(node: Any) -> str | None:
    """The string a node holds when it is a string constant."""
    from jinja2 import nodes

    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _walk(tree: Any) -> Iterator[Any]:
    for node, _ in _walk_with_parents(tree):
        yield node


def _walk_with_parents(tree: Any) -> Iterator[tuple[Any, Any]]:
    stack = [(tree, None)]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((child, node) for child in reversed(list(node.iter_child_nodes())))


def _format_fields(text: str) -> Iterator[tuple[bool, str]]:
    """(is an attribute, name) for each attribute or key a str.format string reads, as the sandbox sees it."""
    from _string import formatter_field_name_split  # type: ignore[import-not-found]
    from string import Formatter

    try:
        for _, field, spec, _ in Formatter().parse(text):
            if field is not None:
                _, rest = formatter_field_name_split(field)
                for is_attribute, key in rest:
                    if isinstance(key, str):
                        yield is_attribute, key
            if spec:
                yield from _format_fields(spec)
    except ValueError:  # a malformed format string fails when rendered, like any other expression
        return
