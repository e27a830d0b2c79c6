"""Running built pipelines over many questions: what the retrieve and rag runners call.

A Haystack pipeline answers one query per `run`. Retrieval is cheap per
query, so `retrieve` runs the retrieval pipeline once per question.
Generation is not: `generate` renders every prompt with the pipeline's own
PromptBuilder and hands them to the generator together, so LocalGenerator
can batch them (and a standard chat generator is called once per prompt). A
prompt template that fails while rendering raises Jinja2's own error (a
SecurityError from the sandbox, say); `prompt_failure` turns it into a
TemplateFailure naming the template and its line, for runners to report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ragdsl.lower import spec as S
from ragdsl.lower.prompts import (
    EXAMPLES_VARIABLE,
    PROMPT_VARIABLES,
    TemplateFailure,
    inline_name,
    template_problem,
)


def retrieve(pipeline: Any, spec: S.PipelineSpec, questions: Sequence[str],
             progress: Callable[[int], None] | None = None) -> list[list[Any]]:
    """The retrieved documents (haystack Documents, best first) for each question."""
    output = spec.documents_output
    if output is None or spec.replies_output is not None:
        raise ValueError("retrieve() needs a retrieval pipeline (describe_retrieval)")
    component, _, socket = output.partition(".")
    results = []
    for done, question in enumerate(questions, 1):
        result = pipeline.run(spec.run_data(question), include_outputs_from={component})
        results.append(list(result[component][socket]))
        if progress is not None:
            progress(done)
    return results


def render_prompts(pipeline: Any, spec: S.PipelineSpec, questions: Sequence[str],
                   documents: Sequence[Sequence[Any]] | None = None) -> list[str]:
    """Each question's prompt, as the pipeline's PromptBuilder renders it (sandboxed Jinja2).

    `documents` (one list per question; anything with `.content`) feeds the
    template's `documents`; None renders every prompt closed-book. A pipeline
    with few-shot examples chooses each question's examples first.
    """
    if documents is not None and len(documents) != len(questions):
        raise ValueError(f"{len(questions)} questions but {len(documents)} document lists")
    builder = pipeline.get_component(_name_of(spec, S.PROMPT_BUILDER))
    chooser = _examples_of(pipeline, spec)
    prompts = []
    for i, q in enumerate(questions):
        inputs = {"question": q, "documents": list(documents[i]) if documents is not None else []}
        if chooser is not None:
            inputs["examples"] = chooser.run(question=q)["examples"]
        prompts.append(builder.run(**inputs)["prompt"])
    return prompts


def prompt_failure(exc: BaseException, spec: S.PipelineSpec) -> TemplateFailure | None:
    """A TemplateFailure naming the prompt template, its line and the problem, when `exc` (raised building the
    pipeline or rendering its prompts, e.g. a jinja2 SecurityError) comes from the template; None otherwise."""
    problem = template_problem(exc)
    if problem is None:
        return None
    template = dict(spec.component(_name_of(spec, S.PROMPT_BUILDER)).params).get("template")
    ref = S.reference_of(template)
    name = (f"{ref[1]}()" if ref[0] == S.BUILTIN else ref[1]) if ref else inline_name(str(template))
    where = f", line {problem.line}" if problem.line is not None else ""
    return TemplateFailure(f"prompt template {name}{where}: {problem.text}",
                           problem.hint("a prompt can use " + ", ".join(PROMPT_VARIABLES)
                                        + f" and, with few-shot examples, {EXAMPLES_VARIABLE}"))


def _examples_of(pipeline: Any, spec: S.PipelineSpec) -> Any:
    """The pipeline's FewShotExamples component (warmed up), or None."""
    names = [c.name for c in spec.components if c.type == S.FEWSHOT]
    if not names:
        return None
    chooser = pipeline.get_component(_name_of(spec, S.FEWSHOT))
    chooser.warm_up()
    return chooser


def generate(pipeline: Any, spec: S.PipelineSpec, questions: Sequence[str],
             documents: Sequence[Sequence[Any]] | None = None) -> list[str]:
    """One answer per question, generating all prompts in one call where the generator batches."""
    prompts = render_prompts(pipeline, spec, questions, documents)
    name = _name_of(spec, S.LOCAL_GENERATOR, S.CHAT_GENERATOR)
    generator = pipeline.get_component(name)
    if hasattr(generator, "warm_up"):
        generator.warm_up()
    if spec.component(name).type == S.LOCAL_GENERATOR:
        return list(generator.run(prompts=prompts)["replies"])
    return [(generator.run(messages=p)["replies"][0].text or "").strip() for p in prompts]


def _name_of(spec: S.PipelineSpec, *types: str) -> str:
    names = [c.name for c in spec.components if c.type in types]
    if len(names) != 1:
        raise ValueError(f"expected one {' or '.join(t.rpartition('.')[2] for t in types)}, found {len(names)}")
    return names[0]
