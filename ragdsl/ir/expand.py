"""Checked spec to `ExperimentGraph`: one node per sweep combination.

Axes. Every `sweep(...)` is an axis owned by the place it is written; a named
`sweep NAME = [...]` is one axis wherever it is used, so its uses move in
lockstep. A node's axes are those of everything it depends on, and it exists
once per combination of them: a corpus swept over chunk sizes gives one index
per size, and each fine-tune of that index's pipeline inherits the size.

Systems fan in. An evaluation compares all variants of its systems in one
node (base, tuned[samples=200], tuned[samples=500], ...): that is the table
a study reports. Its own axes (e.g. a swept question set) fan out.

Retrieval is shared. Systems whose pipelines retrieve identically for the
same questions share one `retrieve` node, so their answers differ only by
the generator (the paper's control); `contexts = per_system` opts out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx

from ragdsl.diagnostics import Span
from ragdsl.evaluate.rubric import builtin_hashes, calibration_hashes
from ragdsl.hashing import canonical_json
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.nodes import Input, Node, node_id
from ragdsl.ir.values import Canonicalizer, default_expr, label_value, substitute
from ragdsl.semantics import CheckedSpec, schema
from ragdsl.semantics.deps import live_decls
from ragdsl.semantics.program import DeclKey
from ragdsl.syntax import ast
from ragdsl.syntax.format import format_expr

AxisKey = tuple[str, ...]
Combo = dict[AxisKey, int]

NO_NODE_KINDS = ("pipeline", "sweep", "experiment")


@dataclass(frozen=True)
class Axis:
    key: AxisKey
    label: str  # short: "samples"
    qualified: str  # unambiguous: "tuned.samples"
    values: tuple[ast.Expr, ...]


RETRIEVAL_STAGES = ("retrieve", "rerank")


@dataclass(frozen=True)
class _Retrieval:
    signature: str  # canonical JSON of params: equal signatures are the same work
    params: dict
    display: tuple[tuple[str, str], ...]
    inputs: tuple[Input, ...]
    data: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    rank: tuple[int, ...]
    pipeline: str
    system: str
    span: Span


@dataclass(frozen=True)
class _Answer:
    label: str  # the system as the evaluation names it: tuned[samples=500]
    node: Node  # the rag node, before its contexts input is attached
    retrieval: _Retrieval | None


@dataclass(frozen=True)
class Site:
    """Where an axis's value is substituted: a Sweep or a reference to a named sweep."""

    axis: AxisKey
    span: Span


def expand(checked: CheckedSpec) -> ExperimentGraph:
    return _Expander(checked).run()


def experiment_seed(checked: CheckedSpec) -> int:
    experiment = checked.program.experiment() if checked.program else None
    seed = experiment.get("seed") if experiment else None
    return int(seed.value.value) if seed is not None and isinstance(seed.value, ast.Num) else 0


class _Expander:
    def __init__(self, checked: CheckedSpec):
        assert checked.program is not None
        self.program = checked.program
        self.resolution = checked.resolution
        self.decl_graph = checked.decl_graph
        self.seed = experiment_seed(checked)
        self.axes: dict[AxisKey, Axis] = {}
        self.decl_axes: dict[DeclKey, tuple[AxisKey, ...]] = {}
        self.variants: dict[DeclKey, dict[tuple[int, ...], str]] = {}
        self.graph = ExperimentGraph()
        self.retrievals: dict[tuple, str] = {}
        self.sweep_decls = {k for k, d in self.program.decls.items() if isinstance(d, ast.SweepDecl)}

    def run(self) -> ExperimentGraph:
        live = live_decls(self.program, self.decl_graph)
        order = nx.lexicographical_topological_sort(self.decl_graph.subgraph(live))
        for key in order:
            decl = self.program.decls[key]
            if isinstance(decl, ast.EvaluateDecl):
                self.evaluate(key, decl)
            elif isinstance(decl, ast.ReportDecl):
                self.report(key, decl)
            elif decl.kind not in NO_NODE_KINDS:
                self.generic(key, decl)
        return self.graph

    # ------------------------------------------------------------------ axes
    def sites(self, expr: ast.Expr, owner: DeclKey, path: str, bindings: dict[str, ast.Expr]) -> list[Site]:
        """Sweep sites inside `expr`; pipeline parameters are followed into their arguments.

        An inline sweep is identified by where it is written, so reaching it
        twice (through a pipeline parameter and directly) finds one axis; its
        label comes from the first place that names it.
        """
        found: list[Site] = []
        if isinstance(expr, ast.Sweep):
            s = expr.span
            key = ("inline", s.file, str(s.line), str(s.col), str(s.end_line), str(s.end_col))
            if key not in self.axes:
                name = self.program.names.get(owner, owner.name)
                short = path.rsplit(".", 1)[-1]
                self.axes[key] = Axis(key, short, f"{name}.{path}", expr.values)
            found.append(Site(key, expr.span))
            for value in expr.values:
                found += self.sites(value, owner, path, {})
            return found
        if isinstance(expr, ast.Ref):
            if len(expr.parts) == 1 and expr.parts[0] in bindings:
                return self.sites(bindings[expr.parts[0]], owner, path, {})
            target = self.resolution.refs.get(expr.span)
            if target in self.sweep_decls:
                key = ("named", target.file, target.name)
                if key not in self.axes:
                    values = self.program.decls[target].get("values")
                    items = values.value.items if values and isinstance(values.value, ast.ListExpr) else ()
                    name = self.program.names[target]
                    self.axes[key] = Axis(key, name, name, items)
                found.append(Site(key, expr.span))
            return found
        for child, sub in _children(expr, self.resolution):
            found += self.sites(child, owner, f"{path}.{sub}" if sub else path, bindings)
        return found

    def upstream_axes(self, exprs: Iterable[ast.Expr], bindings: dict[str, ast.Expr]) -> set[AxisKey]:
        axes: set[AxisKey] = set()
        for root in exprs:
            for expr in ast.walk(root):
                if isinstance(expr, ast.Ref):
                    if len(expr.parts) == 1 and expr.parts[0] in bindings:
                        axes |= self.upstream_axes([bindings[expr.parts[0]]], {})
                        continue
                    target = self.resolution.refs.get(expr.span)
                    if target is not None and target in self.decl_axes:
                        axes |= set(self.decl_axes[target])
        return axes

    def combos(self, axes: Iterable[AxisKey], fixed: Combo | None = None) -> list[Combo]:
        fixed = fixed or {}
        free = sorted(set(axes) - set(fixed))
        ranges = [range(len(self.axes[a].values)) for a in free]
        return [{**fixed, **dict(zip(free, idx))} for idx in itertools.product(*ranges)]

    def labels(self, axes: Iterable[AxisKey], combo: Combo) -> tuple[tuple[str, str], ...]:
        keys = sorted(set(axes))
        shorts = [self.axes[k].label for k in keys]
        out = []
        for k, short in zip(keys, shorts):
            axis = self.axes[k]
            label = short if shorts.count(short) == 1 else axis.qualified
            out.append((label, label_value(axis.values[combo[k]])))
        return tuple(sorted(out))

    def rank(self, axes: Iterable[AxisKey], combo: Combo) -> tuple[int, ...]:
        """Sweep positions in label order: variants are listed in the order values were written."""
        keys = sorted(set(axes), key=lambda k: (self.axes[k].label, self.axes[k].qualified))
        return tuple(combo[k] for k in keys)

    def choose(self, sites: list[Site], combo: Combo) -> dict[Span, ast.Expr]:
        return {s.span: self.axes[s.axis].values[combo[s.axis]] for s in sites}

    def picker(self, combo: Combo):
        def pick(key: DeclKey) -> str:
            axes = self.decl_axes[key]
            return self.variants[key][tuple(combo[a] for a in axes)]

        return pick

    def canonicalizer(self, combo: Combo) -> Canonicalizer:
        canon = Canonicalizer(self.resolution, self.picker(combo), self.sweep_decls)
        canon.files = self.graph.files  # one table for the whole graph, by content hash
        return canon

    # ----------------------------------------------------------- plain decls
    def generic(self, key: DeclKey, decl: ast.Decl) -> None:
        spec = schema.DECL_SPECS[decl.kind]
        per_assign = {a.key: self.sites(a.value, key, a.key, {}) for a in decl.body}
        sites = [s for found in per_assign.values() for s in found]
        axes = {s.axis for s in sites} | self.upstream_axes([a.value for a in decl.body], {})
        self.register(key, axes)
        name = self.program.names[key]
        # Values that no axis touches are the same in every variant: canonicalize them once.
        fixed: dict[str, tuple[object, str, list[Input], dict[str, str]]] = {}
        for a in decl.body:
            if not per_assign[a.key] and not self.upstream_axes([a.value], {}):
                canon = self.canonicalizer({})
                fixed[a.key] = (*_canonical(canon, a.value, a.key), canon.data)
        for combo in self.combos(axes):
            choose = self.choose(sites, combo)
            canon = self.canonicalizer(combo)
            params: dict[str, object] = {}
            display: list[tuple[str, str]] = []
            inputs: list[Input] = []
            data: dict[str, str] = {}
            for param in spec.params:
                assign = decl.get(param.name)
                if assign is not None and param.name in fixed:
                    value, shown, refs, files = fixed[param.name]
                    params[param.name] = value
                    display.append((param.name, shown))
                    inputs += refs
                    data.update(files)
                elif assign is not None:
                    params[param.name], shown, found = _canonical(canon, substitute(assign.value, choose, {}),
                                                                  param.name)
                    display.append((param.name, shown))
                    inputs += found
                elif param.name == "seed":
                    params["seed"] = self.seed
                elif not param.omit_default:
                    params[param.name] = canon.default(param.default_text) if param.default_text else None
            data.update(canon.data)
            _default_split(params, "data", "train")
            labels = self.labels(axes, combo)
            nid = node_id(decl.kind, name, labels)
            self.variants[key][tuple(combo[a] for a in self.decl_axes[key])] = nid
            self.graph.add(Node(nid, decl.kind, name, labels, params, tuple(display), _unique(inputs),
                                tuple(sorted(data.items())), decl.span, rank=self.rank(axes, combo)))

    def register(self, key: DeclKey, axes: Iterable[AxisKey]) -> None:
        self.decl_axes[key] = tuple(sorted(set(axes)))
        self.variants[key] = {}

    # ------------------------------------------------------------ evaluations
    def evaluate(self, key: DeclKey, decl: ast.EvaluateDecl) -> None:
        name = self.program.names[key]
        own = [a for a in decl.body if a.key != "systems"]
        sites = [s for a in own for s in self.sites(a.value, key, a.key, {})]
        axes = {s.axis for s in sites} | self.upstream_axes([a.value for a in own], {})
        self.register(key, axes)
        spec = schema.DECL_SPECS["evaluate"]
        systems_assign = decl.get("systems")
        entries = systems_assign.value.entries if systems_assign and isinstance(
            systems_assign.value, ast.MapExpr) else ()
        shared = _word(decl.get("contexts"), "shared") == "shared"
        scope = [a for a in (decl.get("questions"), decl.get("limit")) if a is not None]
        # What every rag/retrieve node of this evaluation depends on besides its system.
        q_axes = {s.axis for a in scope for s in self.sites(a.value, key, a.key, {})} | self.upstream_axes(
            [a.value for a in scope], {})
        for combo in self.combos(axes):
            choose = self.choose(sites, combo)
            canon = self.canonicalizer(combo)
            params: dict[str, object] = {}
            display: list[tuple[str, str]] = []
            inputs: list[Input] = []
            for param in spec.params:
                if param.name == "systems":
                    continue
                assign = decl.get(param.name)
                if assign is not None:
                    params[param.name], shown, found = _canonical(canon, substitute(assign.value, choose, {}),
                                                                  param.name)
                    display.append((param.name, shown))
                    inputs += found
                elif not param.omit_default:
                    params[param.name] = canon.default(param.default_text) if param.default_text else None
            params["seed"] = self.seed
            _default_split(params, "questions", "test")
            # Built-in rubric texts are code, not files the spec names: hash them in, so an edit
            # re-runs the judging (a custom `rubric` file is hashed as a data file already).
            rubrics = builtin_hashes(params.get("metrics") or ())
            if rubrics:
                params["rubrics"] = rubrics
                # So are the calibration cases each rubric names (a custom rubric's, beside it).
                calibrations = calibration_hashes(params["metrics"], _file_path(canon, params.get("rubric")))
                if calibrations:
                    params["calibrations"] = calibrations
            _judges(params)
            answers = [a for entry in entries for a in self.system(key, name, entry, combo, q_axes, params)]
            contexts = self.add_retrievals(name, answers, shared)
            systems: dict[str, str] = {}
            for answer in answers:
                node = answer.node
                if answer.retrieval is not None:
                    node = replace(node, inputs=_unique([*node.inputs, Input("contexts", contexts[id(answer)])]))
                self.graph.add(node)
                systems[answer.label] = node.id
                inputs.append(Input(f"system:{answer.label}", node.id))
            params["systems"] = systems
            if _counts_relevant(params.get("metrics")):
                inputs += [Input(f"corpus:{a.label}", c) for a in answers if id(a) in contexts
                           for c in self.corpora(contexts[id(a)])]
            display.insert(0, ("systems", ", ".join(systems)))
            labels = self.labels(axes, combo)
            nid = node_id("evaluate", name, labels)
            self.variants[key][tuple(combo[a] for a in self.decl_axes[key])] = nid
            self.graph.add(Node(nid, "evaluate", name, labels, params, tuple(display), _unique(inputs),
                                tuple(sorted(canon.data.items())), decl.span, rank=self.rank(axes, combo)))

    def system(self, eval_key: DeclKey, eval_name: str, entry: ast.Entry, eval_combo: Combo,
               q_axes: set[AxisKey], eval_params: dict) -> list[_Answer]:
        """One rag node per variant of a system (its contexts are attached by add_retrievals)."""
        call = entry.value
        if isinstance(call, ast.Ref):
            call = ast.Call(call.parts[0], (), (), call.span, call.span)
        assert isinstance(call, ast.Call)
        p_key = self.resolution.pipeline_calls[call.span]
        pipeline = self.program.decls[p_key]
        p_name = self.program.names[p_key]
        bindings = _bindings(pipeline, call)
        spec = schema.DECL_SPECS["pipeline"]
        body = {a.key: a.value for a in pipeline.body}
        sites: list[Site] = []
        # Arguments first, so a swept argument is labelled by its parameter name (k=3).
        for pname, arg in bindings.items():
            sites += self.sites(arg, eval_key, f"{entry.key}.{pname}", {})
        for k, v in body.items():
            sites += self.sites(v, p_key, k, bindings)
        sys_axes = {s.axis for s in sites} | self.upstream_axes(body.values(), bindings)
        raw_retrieval = [body[k] for k in RETRIEVAL_STAGES if k in body]
        r_axes = {s.axis for v in raw_retrieval for s in self.sites(v, p_key, "retrieve", bindings)}
        r_axes |= self.upstream_axes(raw_retrieval, bindings) | q_axes
        question = eval_params.get("questions")
        answers = []
        for combo in self.combos(sys_axes | q_axes, eval_combo):
            choose = self.choose(sites, combo)
            values = {k: substitute(v, choose, bindings) for k, v in body.items()}
            retrieval = None
            if "retrieve" in values:
                retrieval = self.retrieval(p_name, entry, values, combo, r_axes, eval_params)
            canon = self.canonicalizer(combo)
            params: dict[str, object] = {}
            display: list[tuple[str, str]] = []
            inputs: list[Input] = []
            for param in spec.params:
                if param.name in RETRIEVAL_STAGES:
                    continue
                if param.name in values:
                    role = "generator" if param.name == "generate" else param.name
                    params[param.name], shown, found = _canonical(canon, values[param.name], role)
                    display.append((param.name, shown))
                    inputs += found
                elif not param.omit_default:
                    params[param.name] = canon.default(param.default_text) if param.default_text else None
                    if param.default_text and param.name not in ("prompt",):
                        display.append((param.name, param.default_text))
            if not params.get("batch_invariant"):
                params.pop("batch_invariant", None)  # the default: rag nodes fingerprint as before it existed
                display[:] = [d for d in display if d[0] != "batch_invariant"]
            params["questions"] = question
            params["limit"] = eval_params.get("limit")
            params["seed"] = self.seed
            if isinstance(params.get("examples"), dict):  # fewshot(qa) means fewshot(qa.train)
                _default_split(params["examples"]["args"], "pool", "train")
            if isinstance(question, dict):
                inputs.append(Input("questions", question["node"]))
            axes_here = self.labels(sys_axes | q_axes, combo)
            sys_labels = self.labels(sys_axes, combo)
            stages = [(k, format_expr(values[k])) for k in (*RETRIEVAL_STAGES, "examples", "prompt", "generate")
                      if k in values]
            if "prompt" not in values:
                stages.insert(len(stages) - 1, ("prompt", "default_prompt()"))
            nid = node_id("rag", f"{eval_name}.{entry.key}", axes_here)
            node = Node(nid, "rag", f"{eval_name}.{entry.key}", axes_here, params, tuple(display),
                        _unique(inputs), tuple(sorted(canon.data.items())), entry.span, tuple(stages),
                        rank=self.rank(sys_axes | q_axes, combo))
            label = entry.key + ("[" + ",".join(f"{a}={v}" for a, v in sys_labels) + "]" if sys_labels else "")
            answers.append(_Answer(label, node, retrieval))
        return answers

    def retrieval(self, p_name: str, entry: ast.Entry, values: dict[str, ast.Expr], combo: Combo,
                  r_axes: set[AxisKey], eval_params: dict) -> _Retrieval:
        labels = self.labels(r_axes, combo)
        memo_key = (entry.span, labels)  # one system entry of one evaluation
        if memo_key in self.retrievals:  # this system's other variants retrieve the same way
            return self.retrievals[memo_key]
        canon = self.canonicalizer(combo)
        params: dict[str, object] = {"retrieve": canon(values["retrieve"])}
        params["rerank"] = canon(values["rerank"]) if "rerank" in values else None
        params["questions"] = eval_params.get("questions")
        params["limit"] = eval_params.get("limit")
        inputs = [Input("retriever", n) for n, _ in canon.refs]
        question = eval_params.get("questions")
        if isinstance(question, dict):
            inputs.append(Input("questions", question["node"]))
        shown = tuple((k, format_expr(values[k])) for k in RETRIEVAL_STAGES if k in values)
        found = _Retrieval(canonical_json(params), params, shown, _unique(inputs),
                           tuple(sorted(canon.data.items())), labels, self.rank(r_axes, combo), p_name,
                           entry.key, entry.span)
        self.retrievals[memo_key] = found
        return found

    def add_retrievals(self, eval_name: str, answers: list[_Answer], shared: bool) -> dict[int, str]:
        """Name and add the retrieve nodes of one evaluation; map each answer to its contexts node.

        Shared: one node per distinct retrieval, named after the pipelines that
        use it (`retrieve.e.rag`), or after its systems when one pipeline
        retrieves in several ways. Names never depend on the order of systems.
        """
        groups: dict[tuple, list[_Answer]] = {}
        for answer in answers:
            r = answer.retrieval
            if r is not None:
                key = (r.signature, r.labels) if shared else (r.signature, r.labels, r.system)
                groups.setdefault(key, []).append(answer)
        def base_name(members: list[_Answer]) -> str:
            return "+".join(sorted({m.retrieval.pipeline for m in members}))  # type: ignore[union-attr]

        def systems_name(members: list[_Answer]) -> str:
            return "+".join(sorted({m.retrieval.system for m in members}))  # type: ignore[union-attr]

        naming = base_name if shared else systems_name
        names = {key: naming(members) for key, members in groups.items()}
        clashes: dict[tuple[str, tuple], int] = {}
        for key, name in names.items():
            clashes[(name, key[1])] = clashes.get((name, key[1]), 0) + 1
        out: dict[int, str] = {}
        for key, members in groups.items():
            r = members[0].retrieval
            assert r is not None
            name = names[key]
            if clashes[(name, r.labels)] > 1:
                name = systems_name(members)
            nid = node_id("retrieve", f"{eval_name}.{name}", r.labels)
            if nid not in self.graph:
                span = min(m.retrieval.span for m in members)  # type: ignore[union-attr]
                self.graph.add(Node(nid, "retrieve", f"{eval_name}.{name}", r.labels, r.params, r.display,
                                    r.inputs, r.data, span, r.display, rank=r.rank))
            for m in members:
                out[id(m)] = nid
        return out

    def corpora(self, retrieval: str) -> list[str]:
        """The corpora a retrieve node searches: recall and nDCG count the relevant passages in them."""
        return [c.node for index in self.graph.node(retrieval).inputs if self.graph.node(index.node).kind == "index"
                for c in self.graph.node(index.node).inputs if c.role == "corpus"]

    # ---------------------------------------------------------------- reports
    def report(self, key: DeclKey, decl: ast.ReportDecl) -> None:
        name = self.program.names[key]
        self.register(key, ())
        canon = self.canonicalizer({})
        inputs: list[Input] = []
        source = decl.get("from")
        refs = []
        if source is not None:
            refs = source.value.items if isinstance(source.value, ast.ListExpr) else (source.value,)
        for ref in refs:
            target = self.resolution.refs.get(ref.span)
            if target is not None:
                inputs += [Input("evaluation", n) for n in sorted(self.variants[target].values())]
        spec = schema.DECL_SPECS["report"]
        params: dict[str, object] = {"from": [i.node for i in inputs]}
        # each evaluation's system names in declared order (not their variants, whose order is not the
        # text's): the report's overview takes the first as its reference
        params["systems"] = {n: list(dict.fromkeys(label.split("[", 1)[0] for label in
                                                   self.graph.node(n).params["systems"])) for n in params["from"]}
        finetunes = self.report_finetunes([i.node for i in inputs])
        if finetunes:  # training curves and sample sizes for the report's plots
            params["finetunes"] = finetunes
            inputs += [Input("finetune", n) for n in sorted({n for m in finetunes.values() for n in m.values()})]
        display: list[tuple[str, str]] = []
        for param in spec.params:
            assign = decl.get(param.name)
            if assign is not None:
                display.append((param.name, format_expr(assign.value)))
                if param.name != "from":
                    params[param.name] = canon(assign.value)
            elif param.name != "from":
                params[param.name] = canon.default(param.default_text) if param.default_text else None
        # The spec's text for the report, by name, outside the fingerprint: comments and formatting
        # stay cosmetic (the report shows the text as it is when the report is written).
        root = self.program.root.path.parent
        for source in self.program.sources.values():
            self.graph.files[f"spec:{_relative(source.path, root)}"] = source.path
        nid = node_id("report", name, ())
        self.variants[key][()] = nid
        self.graph.add(Node(nid, "report", name, (), params, tuple(display), _unique(inputs), (), decl.span))

    def report_finetunes(self, evaluations: list[str]) -> dict[str, dict[str, str]]:
        """{evaluation node: {system label: finetune node}} for systems that generate with a fine-tune."""
        out: dict[str, dict[str, str]] = {}
        for eval_id in evaluations:
            for item in self.graph.node(eval_id).inputs:
                if not item.role.startswith("system:"):
                    continue
                for gen in self.graph.node(item.node).inputs:
                    if gen.role == "generator" and self.graph.node(gen.node).kind == "finetune":
                        out.setdefault(eval_id, {})[item.role.partition(":")[2]] = gen.node
        return out


# ------------------------------------------------------------------- helpers

def _relative(path, root) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name

def _children(expr: ast.Expr, resolution) -> list[tuple[ast.Expr, str]]:
    if isinstance(expr, ast.Call):
        ctor = resolution.ctors.get(expr.span)
        named = [p.name for p in ctor.params] if ctor and not ctor.variadic else []
        positional = [(a, named[i] if i < len(named) else str(i)) for i, a in enumerate(expr.args)]
        return positional + [(k.value, k.name) for k in expr.kwargs]
    if isinstance(expr, ast.ListExpr):
        return [(item, str(i)) for i, item in enumerate(expr.items)]
    if isinstance(expr, ast.MapExpr):
        return [(e.value, e.key) for e in expr.entries]
    return []


def _bindings(pipeline: ast.Decl, call: ast.Call) -> dict[str, ast.Expr]:
    params = list(pipeline.params or ())
    bound: dict[str, ast.Expr] = {}
    for i, arg in enumerate(call.args):
        if i < len(params):
            bound[params[i].name] = arg
    for kw in call.kwargs:
        bound[kw.name] = kw.value
    for p in params:
        if p.name not in bound and p.default is not None:
            bound[p.name] = p.default
    return bound


def _canonical(canon: Canonicalizer, expr: ast.Expr, role: str) -> tuple[object, str, list[Input]]:
    """A parameter's canonical value, its display text, and the upstream nodes it names."""
    before = len(canon.refs)
    value = canon(expr)
    return value, format_expr(expr), [Input(role, n) for n, _ in canon.refs[before:]]


def _default_split(params: dict, key: str, split: str) -> None:
    """`data = qa` means qa.train in a fine-tune and `questions = qa` means qa.test in an evaluation."""
    value = params.get(key)
    if isinstance(value, dict) and str(value.get("node", "")).startswith("questions.") and not value.get("part"):
        params[key] = {"node": value["node"], "part": split}


def _word(assign: ast.Assign | None, default: str) -> str:
    if assign is None:
        return default
    value = assign.value
    if isinstance(value, ast.Ref):
        return value.dotted
    if isinstance(value, ast.Str):
        return value.value
    return default


def _judges(params: dict) -> None:
    """`judge = [j]` is `judge = j`; `judge_combine` only applies (and only enters the fingerprint) with
    several judges."""
    judge = params.get("judge")
    if isinstance(judge, list) and len(judge) == 1:
        params["judge"] = judge[0]
    if not (isinstance(params.get("judge"), list) and len(params["judge"]) > 1):
        params.pop("judge_combine", None)


def _file_path(canon: Canonicalizer, value: object) -> Path | None:
    """The absolute path of a `{"file": ...}` parameter value the canonicalizer hashed, else None."""
    if isinstance(value, dict) and "file" in value and value["file"] in canon.data:
        return canon.files.get(canon.data[value["file"]])
    return None


def _counts_relevant(metrics: object) -> bool:
    """Whether an evaluation's metrics divide by the number of relevant passages (recall@k, ndcg@k)."""
    return isinstance(metrics, list) and any(str(m).partition("@")[0] in ("recall", "ndcg") for m in metrics)


def _unique(inputs: list[Input]) -> tuple[Input, ...]:
    return tuple(sorted(set(inputs), key=lambda i: (i.role, i.node)))


__all__ = ["expand", "experiment_seed", "default_expr"]
