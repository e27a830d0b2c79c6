"""Expansion of sweeps into nodes, fan-in of systems, shared retrieval, fingerprints."""

import pytest
from helpers import write_project

from ragdsl.compiler import compile_spec

RAG = "pipeline rag(generator) { retrieve = bm25(idx, top_k = 5); generate = generator }\n"


@pytest.fixture
def plan_of(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def compile_(spec: str, name: str = "spec.rag", overrides=()):
        path = write_project(tmp_path, spec, name=name)
        compilation = compile_spec(path, list(overrides))
        assert compilation.ok, [(d.code, d.message) for d in compilation.diagnostics]
        return compilation.plan

    return compile_


def ids(plan, kind=None):
    return [a.node.id for a in plan.actions if kind is None or a.node.kind == kind]


def by_id(plan):
    return {a.node.id: a for a in plan.actions}


def test_a_3x4_sweep_gives_12_finetunes_with_readable_ids(plan_of):
    plan = plan_of(RAG + "finetune tuned { base = base; data = qa.train; samples = sweep(200, 500, 1000)\n"
                   "  lr = sweep(1e-4, 2e-4, 3e-4, 5e-4) }\n"
                   "evaluate e { systems = { base: rag(base), tuned: rag(tuned) }; questions = qa.test }\n")
    finetunes = ids(plan, "finetune")
    assert len(finetunes) == 12
    # labels as written, variants in the order the values were written
    assert finetunes[:4] == ["finetune.tuned[lr=1e-4,samples=200]", "finetune.tuned[lr=1e-4,samples=500]",
                             "finetune.tuned[lr=1e-4,samples=1000]", "finetune.tuned[lr=2e-4,samples=200]"]
    assert len(ids(plan, "rag")) == 13  # base + 12 tuned
    (evaluation,) = [a for a in plan.actions if a.node.kind == "evaluate"]
    assert len([i for i in evaluation.node.inputs if i.role.startswith("system:")]) == 13
    assert len(set(a.fingerprint.value for a in plan.actions)) == len(plan.actions)


def test_systems_share_one_retrieval_node(plan_of):
    plan = plan_of(RAG + "finetune tuned { base = base; data = qa.train; samples = sweep(2, 4) }\n"
                   "evaluate e { systems = { base: rag(base), tuned: rag(tuned) }; questions = qa.test }\n")
    assert ids(plan, "retrieve") == ["retrieve.e.rag"]
    contexts = {i.node for a in plan.actions if a.node.kind == "rag" for i in a.node.inputs if i.role == "contexts"}
    assert contexts == {"retrieve.e.rag"}


def test_systems_with_one_name_in_two_evaluations_keep_their_own_retrieval(plan_of):
    # Regression: retrievals were remembered by system name alone, so the second evaluation's `rag`
    # system silently reused the first one's retrieval (another index, other questions).
    plan = plan_of("index idx2 { corpus = docs }\n"
                   "pipeline one(generator) { retrieve = bm25(idx, top_k = 5); generate = generator }\n"
                   "pipeline two(generator) { retrieve = bm25(idx2, top_k = 3); generate = generator }\n"
                   "evaluate a { systems = { rag: one(base) }; questions = qa.test }\n"
                   "evaluate b { systems = { rag: two(base) }; questions = qa.test }\n")
    assert ids(plan, "retrieve") == ["retrieve.a.one", "retrieve.b.two"]
    retrieve = by_id(plan)["retrieve.b.two"]
    assert retrieve.node.params["retrieve"]["args"]["index"]["node"] == "index.idx2"
    assert retrieve.op != "reuse"
    contexts = {i.node for i in by_id(plan)["rag.b.rag"].node.inputs if i.role == "contexts"}
    assert contexts == {"retrieve.b.two"}


def test_per_system_contexts_give_each_system_its_own_retrieval(plan_of):
    plan = plan_of(RAG + "evaluate e { systems = { a: rag(base), b: rag(judge_model) }; questions = qa.test\n"
                   "  contexts = per_system }\n")
    assert ids(plan, "retrieve") == ["retrieve.e.a", "retrieve.e.b"]


def test_sweeping_a_pipeline_argument_multiplies_retrieval_too(plan_of):
    plan = plan_of("pipeline rag(generator, k) { retrieve = bm25(idx, top_k = k); generate = generator }\n"
                   "evaluate e { systems = { base: rag(base, k = sweep(3, 10)) }; questions = qa.test }\n")
    assert ids(plan, "retrieve") == ["retrieve.e.rag[k=3]", "retrieve.e.rag[k=10]"]
    assert ids(plan, "rag") == ["rag.e.base[k=3]", "rag.e.base[k=10]"]
    top_ks = [a.node.params["retrieve"]["args"]["top_k"] for a in plan.actions if a.node.kind == "retrieve"]
    assert top_ks == [3, 10]


def test_upstream_sweeps_propagate_and_named_sweeps_move_in_lockstep(plan_of):
    plan = plan_of('sweep size = [100, 200]\n'
                   'corpus chunks { source = jsonl("data/passages.jsonl"); split = words(size = size) }\n'
                   "index chunk_idx { corpus = chunks }\n"
                   "finetune tuned { base = base; data = qa.train; samples = size }\n"
                   "pipeline p(g) { retrieve = bm25(chunk_idx); generate = g }\n"
                   "evaluate e { systems = { tuned: p(tuned) }; questions = qa.test }\n")
    assert ids(plan, "index") == ["index.chunk_idx[size=100]", "index.chunk_idx[size=200]", "index.idx"]
    # lockstep: the fine-tune sized 100 is paired with the index chunked by 100 only
    assert ids(plan, "rag") == ["rag.e.tuned[size=100]", "rag.e.tuned[size=200]"]
    rag = by_id(plan)["rag.e.tuned[size=100]"]
    retrieve = by_id(plan)[next(i.node for i in rag.node.inputs if i.role == "contexts")]
    assert [i.node for i in retrieve.node.inputs if i.role == "retriever"] == ["index.chunk_idx[size=100]"]


def test_defaults_are_filled_so_explicit_defaults_do_not_change_fingerprints(plan_of):
    implicit = plan_of(RAG + "finetune t { base = base; data = qa.train }\n"
                       "evaluate e { systems = { t: rag(t) }; questions = qa.test }\n")
    explicit = plan_of(RAG + "finetune t { base = base; data = qa.train; method = lora(r = 8, alpha = 16)\n"
                       "  epochs = 1; lr = 0.0002 }\n"
                       "evaluate e { systems = { t: rag(t) }; questions = qa.test }\n")
    assert by_id(implicit)["finetune.t"].fingerprint == by_id(explicit)["finetune.t"].fingerprint


COSMETIC_A = RAG + "finetune t { base = base; data = qa.train; samples = sweep(2, 4) }\n" \
    "evaluate e { systems = { t: rag(t) }; questions = qa.test }\n"
COSMETIC_B = "# a comment\nevaluate e {\n  questions = qa.test\n  systems = { t: rag(t) }\n}\n\n" \
    "finetune t {\n  samples = sweep(2, 4)  # sizes\n  data = qa.train\n  base = base\n}\n" + RAG


def test_cosmetic_edits_change_no_fingerprint(plan_of):
    a = {x.node.id: x.fingerprint.value for x in plan_of(COSMETIC_A).actions}
    b = {x.node.id: x.fingerprint.value for x in plan_of(COSMETIC_B).actions}
    assert a == b


def test_renaming_a_declaration_keeps_fingerprints(plan_of):
    a = plan_of(COSMETIC_A)
    b = plan_of(COSMETIC_A.replace("finetune t ", "finetune renamed ").replace("rag(t)", "rag(renamed)"))
    assert sorted(x.fingerprint.value for x in a.actions) == sorted(x.fingerprint.value for x in b.actions)


def test_data_content_changes_the_fingerprint_of_dependents_only(plan_of, tmp_path):
    before = {a.node.id: a.fingerprint.value for a in plan_of(COSMETIC_A).actions}
    (tmp_path / "data" / "qa.jsonl").write_text('{"id": "q9", "question": "?", "answer": "!"}\n')
    from helpers import DATA_FILES

    DATA_FILES_BACKUP = dict(DATA_FILES)
    try:
        DATA_FILES["data/qa.jsonl"] = '{"id": "q9", "question": "?", "answer": "!"}\n'
        after = {a.node.id: a.fingerprint.value for a in plan_of(COSMETIC_A).actions}
    finally:
        DATA_FILES.update(DATA_FILES_BACKUP)
    changed = {k for k in before if before[k] != after[k]}
    assert "corpus.docs" not in changed and "index.idx" not in changed and "model.base" not in changed
    assert {"questions.qa", "retrieve.e.rag", "evaluate.e"} <= changed


def test_override_changes_only_the_overridden_node_and_downstream(plan_of):
    base = {a.node.id: a.fingerprint.value for a in plan_of(COSMETIC_A).actions}
    over = {a.node.id: a.fingerprint.value for a in plan_of(COSMETIC_A, overrides=["finetune.t.epochs=3"]).actions}
    changed = sorted(k for k in base if base[k] != over[k])
    assert changed == ["evaluate.e", "finetune.t[samples=2]", "finetune.t[samples=4]",
                       "rag.e.t[samples=2]", "rag.e.t[samples=4]"]


def test_experiment_seed_reaches_nondeterministic_nodes(plan_of):
    plan = plan_of(COSMETIC_A)
    params = by_id(plan)
    assert params["questions.qa"].node.params["seed"] == 7
    assert params["finetune.t[samples=2]"].node.params["seed"] == 7
    assert params["rag.e.t[samples=2]"].node.params["seed"] == 7


def test_rag_nodes_list_their_pipeline_stages(plan_of):
    plan = plan_of(COSMETIC_A)
    stages = dict(by_id(plan)["rag.e.t[samples=2]"].node.stages)
    assert stages == {"retrieve": "bm25(idx, top_k = 5)", "prompt": "default_prompt()", "generate": "t"}


def test_imported_declarations_compile_only_when_used(plan_of, tmp_path):
    (tmp_path / "lib.rag").write_text(
        'corpus extra { source = jsonl("data/passages.jsonl") }\n'
        'corpus unused_there { source = jsonl("data/passages.jsonl") }\n'
        "index extra_idx { corpus = extra }\n")
    plan = plan_of('from "lib.rag" import extra_idx\n' + RAG.replace("bm25(idx", "bm25(extra_idx")
                   + "evaluate e { systems = { b: rag(base) }; questions = qa.test }\n")
    assert "index.extra_idx" in ids(plan) and "corpus.extra" in ids(plan)
    assert "corpus.unused_there" not in ids(plan)


def test_default_question_splits_are_normalized(plan_of):
    written = plan_of(RAG + "finetune t { base = base; data = qa.train }\n"
                      "evaluate e { systems = { t: rag(t) }; questions = qa.test }\n")
    implied = plan_of(RAG + "finetune t { base = base; data = qa }\n"
                      "evaluate e { systems = { t: rag(t) }; questions = qa }\n")
    assert [a.fingerprint for a in written.actions] == [a.fingerprint for a in implied.actions]
    assert by_id(implied)["finetune.t"].node.params["data"] == {"node": "questions.qa", "part": "train"}


def test_named_sweeps_work_in_parameters_of_union_type(plan_of):
    plan = plan_of(RAG.replace("top_k = 5", "top_k = 3") + "sweep fractions = [0.2, 0.5]\n"
                   'questions q2 { source = jsonl("data/qa.jsonl"); train = fractions }\n'
                   "finetune t { base = base; data = q2.train }\n"
                   "evaluate e { systems = { t: rag(t) }; questions = qa.test }\n")
    assert ids(plan, "finetune") == ["finetune.t[fractions=0.2]", "finetune.t[fractions=0.5]"]


def test_retrieval_naming_does_not_depend_on_the_order_of_systems(plan_of):
    pipe = "pipeline rag(generator, k = 5) { retrieve = bm25(idx, top_k = k); generate = generator }\n"
    one = plan_of(pipe + "evaluate e { systems = { a: rag(base), b: rag(base, 3), c: rag(judge_model) }\n"
                  "  questions = qa.test }\n")
    two = plan_of(pipe + "evaluate e { systems = { b: rag(base, 3), c: rag(judge_model), a: rag(base) }\n"
                  "  questions = qa.test }\n")
    assert ids(one, "retrieve") == ids(two, "retrieve") == ["retrieve.e.a+c", "retrieve.e.b"]
    assert {a.node.id: a.fingerprint for a in one.actions} == {a.node.id: a.fingerprint for a in two.actions}


def test_identical_retrieval_in_two_pipelines_is_one_node(plan_of):
    plan = plan_of(RAG + "pipeline long(g) { retrieve = bm25(idx, top_k = 5); generate = g; max_new_tokens = 200 }\n"
                   "evaluate e { systems = { short: rag(base), long: long(base) }; questions = qa.test }\n")
    assert ids(plan, "retrieve") == ["retrieve.e.long+rag"]


def test_identical_work_is_planned_once(plan_of):
    plan = plan_of(RAG + "finetune a { base = base; data = qa.train }\n"
                   "finetune b { base = base; data = qa.train; epochs = 1 }\n"
                   "evaluate e { systems = { a: rag(a), b: rag(b) }; questions = qa.test }\n")
    actions = by_id(plan)
    assert (actions["finetune.a"].op, actions["finetune.a"].reason) == ("run", "new")
    assert (actions["finetune.b"].op, actions["finetune.b"].reason, actions["finetune.b"].detail) == (
        "reuse", "same as", "finetune.a")


def test_enum_values_hash_alike_however_written(plan_of):
    spec = RAG + "finetune t { base = base; data = qa.train; method = qlora(bits = BITS) }\n" \
        "evaluate e { systems = { t: rag(t) }; questions = qa.test }\n"
    prints = {by_id(plan_of(spec.replace("BITS", b)))["finetune.t"].fingerprint for b in ('"4"', "4")}
    default = by_id(plan_of(spec.replace("qlora(bits = BITS)", "qlora()")))["finetune.t"].fingerprint
    assert prints == {default}


def test_batch_invariant_reaches_the_generator_and_false_leaves_fingerprints_as_they_were(plan_of):
    spec = "evaluate e { systems = { a: rag(base) }; questions = qa.test }\n"
    default = by_id(plan_of(RAG + spec))["rag.e.a"]
    explicit = by_id(plan_of(RAG.replace("generate = generator", "generate = generator; batch_invariant = false")
                             + spec))["rag.e.a"]
    on = by_id(plan_of(RAG.replace("generate = generator", "generate = generator; batch_invariant = true")
                       + spec))["rag.e.a"]
    assert "batch_invariant" not in default.node.params
    assert explicit.fingerprint.value == default.fingerprint.value
    assert on.node.params["batch_invariant"] is True and on.fingerprint.value != default.fingerprint.value
    assert dict(on.node.pipeline.component("generator").params)["batch_invariant"] is True
    assert "batch_invariant" not in dict(default.node.pipeline.component("generator").params)
