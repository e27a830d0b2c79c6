"""Loading a spec and the files it imports into one `Program`.

Each file has its own scope: its declarations plus what it imports. A
declaration's references resolve in the scope of the file that declares it,
so a shared file keeps working whatever the importer calls things.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.access import ReadAccess, ReadGrants, project_root_problem
from ragdsl.diagnostics import Diagnostic, Span, error, warning
from ragdsl.source import SourceFile, display_path, read_source
from ragdsl.suggest import did_you_mean
from ragdsl.syntax import ast
from ragdsl.syntax.parser import parse_module

MAX_FILES = 1000
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: longer cannot name a file, and would cost memory to resolve


@dataclass(frozen=True, order=True)
class DeclKey:
    """A declaration's identity: the file that declares it and its name there."""

    file: str
    name: str


@dataclass
class Program:
    root: SourceFile
    sources: dict[str, SourceFile] = field(default_factory=dict)
    modules: dict[str, ast.Module] = field(default_factory=dict)
    decls: dict[DeclKey, ast.Decl] = field(default_factory=dict)
    scopes: dict[str, dict[str, DeclKey]] = field(default_factory=dict)
    # The name each declaration goes by in node ids: the root's name for it if
    # the root can see it, else its own.
    names: dict[DeclKey, str] = field(default_factory=dict)
    access: ReadAccess | None = None  # where the spec may read; set once the root spec is parsed

    def source_texts(self) -> dict[str, str]:
        return {k: v.text for k, v in self.sources.items()}

    def lookup(self, name: str, file: str) -> DeclKey | None:
        return self.scopes.get(file, {}).get(name)

    def directory_of(self, span: Span) -> Path:
        source = self.sources.get(span.file)
        return source.directory if source is not None else Path.cwd()

    def root_decls(self) -> list[ast.Decl]:
        return [self.decls[k] for k in sorted(self.decls, key=lambda k: self.names[k])]

    def key_of(self, decl: ast.Decl) -> DeclKey:
        return DeclKey(decl.span.file, decl.name)

    def display_name(self, decl: ast.Decl) -> str:
        return self.names[self.key_of(decl)]

    def experiment(self) -> ast.ExperimentDecl | None:
        module = self.modules.get(self.root.display)
        if module is None:
            return None
        return next((d for d in module.decls if isinstance(d, ast.ExperimentDecl)), None)


def load_program(path: Path, grants: ReadGrants | None = None) -> tuple[Program | None, list[Diagnostic]]:
    root, diagnostics = read_source(path)
    if root is None:
        return None, diagnostics
    program = Program(root, access=ReadAccess.build(root.directory, grants))
    loader = _Loader(program, grants)
    loader.load(root, chain=())
    diagnostics = loader.diagnostics
    if root.display not in program.modules:
        return program, diagnostics  # the root did not parse: sources only, for rendering
    _gather(program, diagnostics)
    return program, diagnostics


class _Loader:
    def __init__(self, program: Program, grants: ReadGrants | None):
        self.program = program
        self.grants = grants
        self.diagnostics: list[Diagnostic] = []
        self.exports: dict[str, dict[str, DeclKey]] = {}

    def load(self, source: SourceFile, chain: tuple[str, ...]) -> dict[str, DeclKey] | None:
        if source.display in self.exports:
            return self.exports[source.display]
        if len(self.program.sources) >= MAX_FILES:
            return None
        self.program.sources[source.display] = source
        module, diags = parse_module(source)
        self.diagnostics.extend(diags)
        if module is None:
            self.exports[source.display] = {}
            return {}
        self.program.modules[source.display] = module
        if source is self.program.root and not (self.grants and self.grants.root):
            self._project_root(module)
        scope: dict[str, DeclKey] = {}
        where: dict[str, Span] = {}
        for imp in module.imports:
            self._import(imp, source, chain + (source.display,), scope, where)
        for decl in module.decls:
            if isinstance(decl, ast.ExperimentDecl):
                continue  # settings, not a named thing others refer to
            key = DeclKey(source.display, decl.name)
            if decl.name in scope:
                self.diagnostics.append(_duplicate(decl.name, decl.name_span, where[decl.name]))
                continue
            scope[decl.name] = key
            where[decl.name] = decl.name_span
            self.program.decls[key] = decl
        self.program.scopes[source.display] = scope
        self.exports[source.display] = scope
        return scope

    def _project_root(self, module: ast.Module) -> None:
        """`experiment x { root = ".." }`: a folder above the spec, holding a project marker, as the project."""
        experiment = next((d for d in module.decls if isinstance(d, ast.ExperimentDecl)), None)
        assign = experiment.get("root") if experiment else None
        if assign is None or not isinstance(assign.value, ast.Str):
            return  # a wrong type is reported by the checker
        root = self.program.root
        try:
            folder = (root.directory / assign.value.value).resolve()
            problem = project_root_problem(folder, root.directory)
        except (OSError, ValueError) as exc:
            problem = str(getattr(exc, "strerror", None) or exc)[:80]
        if problem is None:
            self.program.access = ReadAccess.build(folder, self.grants)
            return
        self.diagnostics.append(error(
            "E607", f"'{assign.value.value}' cannot be this spec's project root", assign.value.span,
            label=problem,
            help="name a folder above the spec that holds .git or pyproject.toml, "
                 "or give the root on the command line: --root DIR"))

    def _import(self, imp: ast.ImportDecl, importer: SourceFile, chain: tuple[str, ...],
                scope: dict[str, DeclKey], where: dict[str, Span]) -> None:
        try:
            if len(imp.path) > MAX_PATH_CHARS:
                raise ValueError(f"the path is longer than {MAX_PATH_CHARS} characters")
            target = (importer.directory / imp.path).resolve()
            target.is_file()
        except (OSError, ValueError) as exc:  # NUL bytes, names too long for the filesystem
            self.diagnostics.append(error("E602", "invalid import path", imp.path_span,
                                          label=str(getattr(exc, "strerror", None) or exc)[:80],
                                          help="give a path to a .rag file, relative to this file"))
            return
        access = self.program.access
        if access is not None and not access.permits(target):
            self.diagnostics.append(outside_project(imp.path, imp.path_span, access, "import"))
            return
        if target.suffix != ".rag":
            self.diagnostics.append(error(
                "E606", f"'{imp.path}' is not a .rag spec", imp.path_span, label="only .rag files can be imported",
                help="import a spec file whose name ends in .rag; data files are read by sources such as jsonl(...)"))
            return
        shown = display_path(target)
        if shown in chain:
            cycle = " -> ".join([*chain[chain.index(shown):], shown])
            self.diagnostics.append(error("E603", "cyclic import", imp.path_span,
                                          label="imports a file that imports this one",
                                          notes=[f"import cycle: {cycle}"],
                                          help="move the shared declarations into a third file both import"))
            return
        if not target.is_file():
            siblings = [p.name for p in target.parent.glob("*.rag")] if target.parent.is_dir() else []
            self.diagnostics.append(error(
                "E602", f"imported file not found: '{imp.path}'", imp.path_span,
                label="no such file",
                help=did_you_mean(target.name, siblings)
                or f"paths are relative to the importing file's folder ({display_path(importer.directory)})"))
            return
        source = self.program.sources.get(shown)
        if source is None:
            source, diags = read_source(target, shown)
            if source is None:
                self.diagnostics.extend(_relocate(diags, imp.path_span))
                return
        exported = self.load(source, chain)
        if exported is None:
            return
        if imp.names is None:
            chosen = sorted(exported.items())
            spans = {name: imp.span for name, _ in chosen}
        else:
            chosen, spans = [], {}
            for item in imp.names:
                key = exported.get(item.name)
                if key is None:
                    self.diagnostics.append(error(
                        "E604", f"'{imp.path}' declares no '{item.name}'", item.span,
                        help=did_you_mean(item.name, exported) or _declared(exported)))
                    continue
                chosen.append((item.local, key))
                spans[item.local] = item.span
        for name, key in chosen:
            if name in scope and scope[name] != key:
                self.diagnostics.append(_duplicate(name, spans[name], where[name]))
                continue
            scope[name] = key
            where.setdefault(name, spans[name])


def _declared(exported: dict[str, DeclKey]) -> str:
    if not exported:
        return "it declares nothing that can be imported"
    names = sorted(exported)
    shown = ", ".join(names[:20])
    return f"it declares: {shown}" + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def outside_project(written: str, span: Span, access: ReadAccess, what: str, link: str | None = None) -> Diagnostic:
    """E605: a path the spec may not read; the remedy is the runner's to give, on the command line."""
    return error(
        "E605", f"{what} '{written}' " + ("leads outside the project" if link else "is outside the project"), span,
        label=f"the project is {_folder(access.project)}",
        notes=[f"'{link}' is a link to a place outside the project"] if link else [],
        help="a spec reads only inside its project: move the file into the project, or, if you trust "
             "the spec, run with --allow-read DIR (or $RAGDSL_ALLOW_READ) or a wider project: --root DIR")


def _folder(path: Path) -> str:
    shown = display_path(path)
    return "the current folder" if shown == "." else f"'{shown}'"


def _duplicate(name: str, span: Span, first: Span) -> Diagnostic:
    where = first.short() if first.file == span.file else first.start()
    return error("E202", f"'{name}' is declared more than once", span,
                 label="declared again here",
                 notes=[f"first declared at {where}"],
                 help="rename one of them (an import can rename with `from \"file.rag\" import x as y`)")


def _relocate(diags: list[Diagnostic], span: Span) -> list[Diagnostic]:
    from dataclasses import replace

    return [replace(d, span=d.span or span) for d in diags]


def _gather(program: Program, diagnostics: list[Diagnostic]) -> None:
    """Name every declaration for node ids; warn about ignored settings."""
    root_scope = program.scopes.get(program.root.display, {})
    by_key = {key: name for name, key in sorted(root_scope.items())}
    taken: dict[str, DeclKey] = {}
    for key in sorted(program.decls):
        name = by_key.get(key, key.name)
        program.names[key] = name
    for key in sorted(program.decls, key=lambda k: (k.file != program.root.display, k)):
        name = program.names[key]
        other = taken.get(name)
        if other is not None and other != key:
            decl = program.decls[key]
            diagnostics.append(error(
                "E202", f"two declarations are both named '{name}'", decl.name_span,
                notes=[f"the other is at {program.decls[other].name_span.start()}"],
                help=f"import one of them under another name: from \"...\" import {name} as {name}_2"))
        taken.setdefault(name, key)
    root_module = program.modules[program.root.display]
    if not root_module.decls and not root_module.imports and not any(d.is_error for d in diagnostics):
        diagnostics.append(warning("W102", "the spec declares nothing", Span(program.root.display, 1, 1, 1, 1),
                                   help="start from experiments/quickstart.rag, or see docs/language.md"))
    for display, module in program.modules.items():
        experiments = [d for d in module.decls if isinstance(d, ast.ExperimentDecl)]
        if display != program.root.display:
            diagnostics.extend(
                warning("W601", "experiment settings in an imported file are ignored", d.span,
                        help="set them in the spec you compile")
                for d in experiments)
        else:
            diagnostics.extend(
                error("E202", "more than one experiment declaration", d.name_span,
                      notes=[f"the first is at {experiments[0].span.short()}"],
                      help="merge the settings into one `experiment` block")
                for d in experiments[1:])
