"""Training answers rendered by a `target` template: teach a form (JSON, an answer with its evidence).

`format = qa(target = inline("..."))` or `target = template("file.jinja")`
renders each supervised answer with Jinja2 in a sandbox (as Haystack's
PromptBuilder renders prompts) from `answer` (the first gold answer),
`answers` (all of them), `question`, `context` (the gold passage, or "") and
`evidence` (the context's sentence holding the answer). Undefined names are
errors, not empty strings: a misspelt variable would otherwise teach the model
to leave a field blank. Filters are Jinja2's own, as in prompts: `tojson` sorts
keys and escapes `'`, `<`, `>` and `&` (`\u0027`), so a target renders exactly as
the same expression renders in a few-shot prompt, and a form taught by examples
and one taught by fine-tuning are the same bytes.

Every error is a FinetuneError naming the template (and the template's line where
Jinja2 knows it), raised before any weights load. `ragdsl check` finds syntax errors,
unknown variables and plain sandbox violations earlier (ragdsl.semantics.templates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragdsl.data import Question
from ragdsl.data.evidence import evidence
from ragdsl.finetune.errors import FinetuneError
from ragdsl.lower.prompts import TARGET_VARIABLES, inline_name, template_problem

__all__ = ["TARGET_VARIABLES", "Target", "render_targets", "target_from_format", "variables"]

_VARIABLES_HINT = "a target template can use " + ", ".join(TARGET_VARIABLES)


@dataclass(frozen=True)
class Target:
    """A target template: its name for messages (the file as written, or the inline text) and its text."""

    name: str
    text: str


def target_from_format(fmt: dict, locate: Callable[[str], Path]) -> Target | None:
    """The `target` of a train format's canonical params ({"call": ..., "args": {...}}), or None."""
    call = (fmt.get("args") or {}).get("target")
    if call is None:
        return None
    args = call.get("args") or {}
    if call["call"] == "inline":
        return Target(inline_name(args["text"]), args["text"])
    if call["call"] == "template":
        written = args["path"]["file"]
        try:
            return Target(written, locate(written).read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise FinetuneError(f"target template {written} is not UTF-8 text",
                                "save the template as UTF-8") from None
    raise FinetuneError(f"target = {call['call']}() is a question prompt, not a training answer",
                        'write the answer\'s form, e.g. target = inline("{{ answer }}") or a template file')


def variables(question: Question) -> dict[str, Any]:
    """What a target template sees for one training question."""
    answers = list(question.answers)
    context = question.context or ""
    return {"answer": answers[0] if answers else "", "answers": answers, "question": question.question,
            "context": context, "evidence": evidence(context, answers)}


def render_targets(target: Target, questions: Sequence[Question]) -> list[str]:
    """Each question's training answer, rendered in the sandbox; empty results are refused."""
    from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        compiled = env.from_string(target.text)
    except TemplateSyntaxError as exc:
        hint = "fix the template's Jinja2 syntax: {{ answer }}, {% if context %}...{% endif %}"
        raise FinetuneError(f"target template {target.name}, line {exc.lineno}: {exc.message}", hint) from None
    out = []
    for question in questions:
        try:
            text = compiled.render(variables(question)).strip()
        except Exception as exc:  # noqa: BLE001 - a user's expression can raise anything (e.g. "a" / 0)
            problem = template_problem(exc)
            if problem is None:
                raise
            where = f" at line {problem.line}" if problem.line is not None else ""
            hint = _VARIABLES_HINT if isinstance(exc, TemplateError) else \
                f"{_VARIABLES_HINT}; all are strings but answers, a list of strings"
            raise FinetuneError(f"target template {target.name}: {problem.text} (question {question.id}){where}",
                                problem.hint(hint)) from None
        if not text:
            raise FinetuneError(f"target template {target.name} renders an empty answer for question "
                                f"{question.id}", "a training answer needs text; check the template's conditions")
        out.append(text)
    return out

