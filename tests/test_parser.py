from pathlib import Path

import pytest

from ragdsl.source import decode
from ragdsl.syntax import ast
from ragdsl.syntax.parser import parse_expr, parse_module


def parse(text: str):
    source, diags = decode(text.encode(), "t.rag", Path("/x/t.rag"))
    assert source is not None, diags
    return parse_module(source)


def test_declarations_become_typed_nodes_with_spans():
    module, diags = parse('corpus docs { source = jsonl("a.jsonl") }\nmodel m = hf("x")\n')
    assert diags == []
    corpus, model = module.decls
    assert isinstance(corpus, ast.CorpusDecl) and corpus.name == "docs"
    assert isinstance(model, ast.ModelDecl) and model.short
    assert model.body[0].key == "source"
    assert (corpus.name_span.line, corpus.name_span.col) == (1, 8)
    assert (model.span.line, model.span.col) == (2, 1)


def test_expressions():
    module, diags = parse(
        'evaluate e { systems = { a: rag(m, k = 3), "b c": rag(n) }; metrics = [f1, recall@5]\n'
        "  questions = qa.test; limit = sweep(1, 2.5, -3e-4); x = true; y = none }")
    assert diags == []
    body = {a.key: a.value for a in module.decls[0].body}
    assert [e.key for e in body["systems"].entries] == ["a", "b c"]
    call = body["systems"].entries[0].value
    assert call.name == "rag" and call.kwargs[0].name == "k" and call.kwargs[0].value.value == 3
    assert isinstance(body["metrics"].items[1], ast.At) and body["metrics"].items[1].k == 5
    assert body["questions"].parts == ("qa", "test")
    sweep = body["limit"]
    assert isinstance(sweep, ast.Sweep)
    assert [v.value for v in sweep.values] == [1, 2.5, -3e-4]
    assert sweep.values[2].text == "-3e-4"
    assert body["x"].value is True and isinstance(body["y"], ast.NoneLit)


def test_imports():
    module, diags = parse('import "a.rag"\nfrom "b.rag" import x, y as z\n')
    assert diags == []
    assert module.imports[0].names is None
    assert [(n.name, n.local) for n in module.imports[1].names] == [("x", "x"), ("y", "z")]


def test_pipeline_parameters_with_types_and_defaults():
    module, _ = parse("pipeline rag(generator: model, k: int = 5) { generate = generator }")
    params = module.decls[0].params
    assert [(p.name, p.type_name) for p in params] == [("generator", "model"), ("k", "int")]
    assert params[1].default.value == 5


def test_comments_are_collected_for_the_formatter():
    module, _ = parse("# head\ncorpus c { } # tail\n")
    assert [(c.text, c.line) for c in module.comments] == [("# head", 1), ("# tail", 2)]


def test_every_broken_statement_reports_its_own_error():
    module, diags = parse("corpus a { source = }\nmodel m = hf(\"x\")\nindex i { corpus = a b = }\n")
    assert module is None
    assert [(d.code, d.span.line) for d in diags] == [("E101", 1), ("E101", 3)]


def test_unclosed_brace_points_at_the_opening_brace():
    _, diags = parse("corpus a {\n  source = jsonl(\"x\")\n")
    assert len(diags) == 1
    assert diags[0].message == "'{' is never closed"
    assert (diags[0].span.line, diags[0].span.col) == (1, 10)


@pytest.mark.parametrize("text, message", [
    ("corpsu a { }", "unknown declaration kind 'corpsu'"),
    ("corpus a(x) { }", "only pipelines take parameters; 'corpus' does not"),
    ("corpus a = jsonl(\"x\")", "'corpus' declarations take a block, not '= value'"),
    ("corpus a { s = f(x = 1, x = 2) }", "argument 'x' given twice"),
    ("corpus a { s = f(x = 1, 2) }", "positional argument after a named one"),
    ("corpus a { s = \"bad \\q escape\" }", "invalid escape sequence in string"),
])
def test_builder_errors(text, message):
    _, diags = parse(text)
    assert message in [d.message for d in diags]


def test_single_quotes_get_a_hint():
    _, diags = parse("corpus a { s = 'x' }")
    assert diags[0].help == 'strings use double quotes: "like this"'


def test_binary_input_is_refused_with_a_location():
    source, diags = decode(b"corpus a {}\n\xff\xfe", "t.rag", Path("/x"))
    assert source is None
    assert diags[0].code == "E001" and diags[0].span.line == 2


def test_override_parsing():
    (names, value), diags = parse_expr("finetune.tuned.epochs=3", "<--set>", start="override")
    assert diags == [] and names == ["finetune", "tuned", "epochs"] and value.value == 3
