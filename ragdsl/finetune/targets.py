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

Every error is a FinetuneError naming the template, raised before any weights load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragdsl.data import Question
from ragdsl.data.evidence import evidence
from ragdsl.finetune.errors import FinetuneError

TARGET_VARIABLES = ("answer", "answers", "question", "context", "evidence")
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
        text = args["text"]
        shown = text if len(text) <= 40 else text[:37] + "..."
        return Target(f"inline({json.dumps(shown, ensure_ascii=False)})", text)
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
        except TemplateError as exc:
            raise FinetuneError(f"target template {target.name}: {_describe(exc)} (question {question.id})",
                                _hint(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a user's expression can raise anything (e.g. "a" / 0)
            raise FinetuneError(f"target template {target.name}: {type(exc).__name__}: {exc} "
                                f"(question {question.id})",
                                f"{_VARIABLES_HINT}; all are strings but answers, a list of strings") from None
        if not text:
            raise FinetuneError(f"target template {target.name} renders an empty answer for question "
                                f"{question.id}", "a training answer needs text; check the template's conditions")
        out.append(text)
    return out


def _describe(exc: Exception) -> str:
    from jinja2.exceptions import SecurityError

    message = getattr(exc, "message", None) or str(exc)
    return f"sandbox refused it: {message}" if isinstance(exc, SecurityError) else message


def _hint(exc: Exception) -> str:
    from jinja2.exceptions import SecurityError, UndefinedError

    if isinstance(exc, SecurityError):
        return "templates run in a sandbox without Python internals; use the variables and Jinja2 filters"
    if isinstance(exc, UndefinedError):
        return _VARIABLES_HINT
    return "check the template against the Jinja2 documentation"
