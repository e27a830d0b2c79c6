"""The checker: names, types, values, files, imports and cross-declaration rules."""

import pytest
from helpers import write_project

from ragdsl.semantics import check_spec

PIPELINE = '''
pipeline rag(generator) { retrieve = bm25(idx, top_k = 5); generate = generator }
evaluate compare { systems = { base: rag(base) }; questions = qa.test; metrics = [f1] }
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def check(spec: str, *, with_base: bool = True, overrides=()):
        path = write_project(tmp_path, spec, with_base=with_base)
        return check_spec(path, list(overrides))

    return check


def codes(checked):
    return [d.code for d in checked.diagnostics]


def only_errors(checked):
    return [(d.code, d.message) for d in checked.diagnostics if d.is_error]


def test_valid_spec_has_no_errors(project):
    checked = project(PIPELINE)
    assert checked.ok, only_errors(checked)


def test_unknown_name_suggests_the_closest_declared_one(project):
    checked = project(PIPELINE.replace("bm25(idx", "bm25(ixd"))
    (d,) = [d for d in checked.diagnostics if d.code == "E201"]
    assert d.message == "unknown name 'ixd'"
    assert d.help.startswith("did you mean 'idx'?")


def test_wrong_kind_of_reference(project):
    checked = project(PIPELINE.replace("rag(base)", "rag(docs)"))
    assert ("E203", "expected a model or finetune, but 'docs' is a corpus") in only_errors(checked)


def test_duplicate_declaration_names_both_places(project):
    checked = project(PIPELINE + 'corpus docs { source = jsonl("data/passages.jsonl") }')
    (d,) = [d for d in checked.diagnostics if d.code == "E202"]
    assert d.notes[0].startswith("first declared at 3:")


def test_unknown_and_missing_parameters(project):
    checked = project(PIPELINE + "finetune t { base = base; dta = qa.train }")
    errors = only_errors(checked)
    assert ("E301", "finetune has no parameter 'dta'") in errors
    assert ("E302", "finetune 't' is missing 'data'") in errors
    (unknown,) = [d for d in checked.diagnostics if d.code == "E301"]
    assert unknown.help == "did you mean 'data'?"


@pytest.mark.parametrize("fragment, code, message", [
    ("top_k = 5", "E401", "0 is out of range", ),
    ("top_k = 5", "E303", 'expected an integer, got the string "five"'),
    ("top_k = 5", "E303", "expected an integer, got the number 2.5"),
])
def test_bad_values(project, fragment, code, message):
    replacement = {"E401": "top_k = 0", "E303": 'top_k = "five"'}[code]
    if "2.5" in message:
        replacement = "top_k = 2.5"
    checked = project(PIPELINE.replace(fragment, replacement))
    assert (code, message) in only_errors(checked)


def test_enum_values_are_listed(project):
    checked = project(PIPELINE + "model m2 { source = \"x\"; precision = bf61 }")
    (d,) = [d for d in checked.diagnostics if d.code == "E403"]
    assert d.help == "did you mean 'bf16'?"


def test_empty_sweep_and_unsweepable(project):
    checked = project(PIPELINE + "finetune t { base = base; data = qa.train; samples = sweep() }\n"
                      "report r { from = compare; formats = sweep([html]) }")
    errors = only_errors(checked)
    assert ("E402", "empty sweep") in errors
    assert ("E403", "this parameter cannot be swept") in errors


def test_missing_source_file_suggests_a_sibling(project):
    checked = project(PIPELINE + 'corpus typo { source = jsonl("data/pasages.jsonl") }')
    (d,) = [d for d in checked.diagnostics if d.code == "E601"]
    assert d.message == "file not found: 'data/pasages.jsonl'"
    assert "did you mean 'passages.jsonl'?" in d.help


def test_secrets_must_come_from_the_environment(project):
    spec = PIPELINE + 'index es_idx { corpus = docs; store = elasticsearch(url = env("ES_URL"), password = "hunter2") }'
    (d,) = [d for d in project(spec).diagnostics if d.code == "E405"]
    assert "env(" in d.help
    ok = PIPELINE + 'index es_idx { corpus = docs; store = elasticsearch(url = env("ES_URL"), password = env("P")) }'
    assert "E405" not in codes(project(ok))


def test_constructor_from_another_category_is_explained(project):
    checked = project(PIPELINE.replace("bm25(idx, top_k = 5)", "words(size = 5)"))
    (d,) = [d for d in checked.diagnostics if d.code == "E307"]
    assert d.notes == ("words() is a splitter, not a retriever",)


def test_pipeline_arguments_are_checked_against_inferred_parameter_types(project):
    checked = project(PIPELINE.replace("rag(base)", "rag(base, extra = 1)"))
    assert ("E301", "pipeline rag has no parameter 'extra'") in only_errors(checked)
    checked = project(PIPELINE.replace("rag(base)", "rag()"))
    assert ("E302", "pipeline rag needs 'generator'") in only_errors(checked)


def test_hybrid_needs_two_retrievers(project):
    checked = project(PIPELINE.replace("bm25(idx, top_k = 5)", "hybrid(bm25(idx))"))
    assert ("E404", "hybrid() needs at least two retrievers") in only_errors(checked)


def test_training_on_test_questions_is_an_error(project):
    checked = project(PIPELINE + "finetune t { base = base; data = qa.test }")
    assert ("E411", "fine-tuning on test questions") in only_errors(checked)


def test_training_on_all_overlaps_the_evaluation(project):
    checked = project(PIPELINE + "finetune t { base = base; data = qa.all }")
    assert ("E411", "fine-tuning data overlaps the questions an evaluation tests on") in only_errors(checked)


def test_judge_metrics_need_a_judge_and_a_different_model(project):
    checked = project(PIPELINE.replace("metrics = [f1]", "metrics = [accuracy]"))
    assert ("E410", "'accuracy' is scored by an LLM judge, but no judge is set") in only_errors(checked)
    checked = project(PIPELINE.replace("metrics = [f1]", "metrics = [accuracy]; judge = base"))
    assert checked.ok and "W401" in codes(checked)
    checked = project(PIPELINE.replace("metrics = [f1]", "metrics = [accuracy]; judge = judge_model"))
    assert checked.ok and "W401" not in codes(checked)


def test_dense_retrieval_needs_an_embedder(project):
    spec = PIPELINE.replace("bm25(idx", "dense(plain") + "index plain { corpus = docs }"
    (d,) = [d for d in project(spec).diagnostics if d.code == "E413"]
    assert "add `embedder" in d.help


def test_cycles_are_reported_with_the_path(project):
    checked = project(PIPELINE + "finetune a { base = b; data = qa.train }\nfinetune b { base = a; data = qa.train }")
    (d,) = [d for d in checked.diagnostics if d.code == "E501"]
    assert d.notes == ("cycle: finetune.a -> finetune.b -> finetune.a",)


def test_unused_declarations_warn(project):
    checked = project(PIPELINE + "corpus spare { source = jsonl(\"data/passages.jsonl\") }")
    assert checked.ok
    assert "corpus 'spare' is never used" in [d.message for d in checked.diagnostics]


def test_imports_scopes_and_aliases(project, tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "shared.rag").write_text(
        'corpus wiki { source = jsonl("../data/passages.jsonl") }\nindex wiki_idx { corpus = wiki }\n')
    checked = project('from "lib/shared.rag" import wiki_idx as w\nmodel m = "x"\n'
                      'questions q { source = jsonl("data/qa.jsonl") }\n'
                      "pipeline p(g) { retrieve = bm25(w); generate = g }\n"
                      "evaluate e { systems = { a: p(m) }; questions = q.test }\n", with_base=False)
    assert checked.ok, only_errors(checked)
    bad = project('from "lib/shared.rag" import wiki_ix\n', with_base=False)
    (d,) = [d for d in bad.diagnostics if d.code == "E604"]
    assert d.help == "did you mean 'wiki_idx'?"


def test_import_cycles_and_missing_imports(project, tmp_path):
    (tmp_path / "a.rag").write_text('import "spec.rag"\n')
    checked = project('import "a.rag"\nimport "nope.rag"\n', with_base=False)
    found = {d.code: d for d in checked.diagnostics}
    assert found["E603"].notes == ("import cycle: spec.rag -> a.rag -> spec.rag",)
    assert found["E602"].message == "imported file not found: 'nope.rag'"


def test_overrides_change_values_and_report_bad_paths(project):
    checked = project(PIPELINE, overrides=["pipeline.rag.max_new_tokens=0"])
    assert ("E401", "0 is out of range") in only_errors(checked)
    (d,) = [d for d in checked.diagnostics if d.code == "E401"]
    assert d.span.file == "<--set 1>"
    checked = project(PIPELINE, overrides=["index.idz.batch_size=3"])
    (d,) = checked.diagnostics
    assert (d.code, d.message, d.help) == ("E701", "no index named 'idz'", "did you mean 'idx'?")


def test_all_errors_of_a_phase_are_reported_together(project):
    checked = project(PIPELINE.replace("top_k = 5", "top_k = 0").replace("qa.test", "qa.tset")
                      .replace("[f1]", "[f2]"))
    assert sorted(codes(checked)) == ["E306", "E401", "E403"]


def test_override_replaces_a_positional_constructor_argument(project):
    spec = PIPELINE + 'index es { corpus = docs; store = elasticsearch("http://localhost:9200") }'
    checked = project(spec, overrides=['index.es.store.url="http://other:9200"'])
    assert not [d for d in checked.diagnostics if d.is_error]
    store = next(a for a in checked.program.decls[checked.program.lookup("es", "spec.rag")].body if a.key == "store")
    assert [a.value for a in store.value.args] == ["http://other:9200"]


def test_none_unsets_an_optional_parameter_only(project):
    assert "E303" not in codes(project(PIPELINE + 'corpus c { source = jsonl("data/passages.jsonl"); split = none }'))
    assert "E303" in codes(project(PIPELINE + 'corpus c { source = none }'))


def test_sweeps_inside_hybrid_retrievers(project):
    checked = project(PIPELINE.replace("bm25(idx, top_k = 5)", "hybrid(bm25(idx, top_k = sweep(5, 10)), dense(idx))"))
    assert checked.ok, only_errors(checked)
