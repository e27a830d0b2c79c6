"""ragdsl's built-in prompt, and what a prompt template may use.

Templates are Jinja2, rendered by Haystack's PromptBuilder in its sandboxed
environment, with the variables `question` (a string), `documents` (the
retrieved passages, each with `.content` and `.meta`; empty for closed-book
pipelines) and, in pipelines with `examples = fewshot(...)`, `examples` (each
with `.question`, `.answer`, `.answers`, `.context` and `.evidence`; see
ragdsl.lower.fewshot). A fine-tune's `target` template sees TARGET_VARIABLES
(ragdsl.finetune.targets). `ragdsl check` checks both kinds (ragdsl.semantics.templates);
what fails only while rendering is a `TemplateFailure`, the user's to fix. This module
imports jinja2 only inside functions.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass

# The variables a pipeline feeds every prompt template.
PROMPT_VARIABLES = ("question", "documents")
EXAMPLES_VARIABLE = "examples"  # only in pipelines with few-shot examples, so other pipelines build as before
REQUIRED_VARIABLES = ("question",)
# The variables a fine-tune's target template sees (ragdsl.finetune.targets.variables).
TARGET_VARIABLES = ("answer", "answers", "question", "context", "evidence")

# `prompt = default_prompt()`. Short answers suit exact-match and F1 scoring. Without examples it
# renders exactly as it did before few-shot existed (a test keeps it so).
DEFAULT_PROMPT = """\
{% set shots = examples | default([]) -%}
{% if documents -%}
Answer the question using only the passages below. Reply with the shortest
phrase from the passages that answers it, with no explanation. If the passages
do not contain the answer, reply "unknown".

{% if shots -%}
Examples:
{% for example in shots -%}
Question: {{ example.question }}
Answer: {{ example.answer }}
{% endfor %}
{% endif -%}
{% for document in documents -%}
Passage {{ loop.index }}: {{ document.content }}
{% endfor %}
{% else -%}
Answer the question below with a short phrase and no explanation.

{% if shots -%}
Examples:
{% for example in shots -%}
Question: {{ example.question }}
Answer: {{ example.answer }}
{% endfor %}
{% endif -%}
{% endif -%}
Question: {{ question }}
Answer:"""


def template_variables(text: str) -> set[str]:
    """The undeclared variables a template reads (for checks: anything beyond PROMPT_VARIABLES renders empty).

    Raises jinja2.TemplateSyntaxError for a template that does not parse.
    """
    from jinja2 import meta
    from jinja2.sandbox import SandboxedEnvironment

    return set(meta.find_undeclared_variables(SandboxedEnvironment().parse(text)))


def inline_name(text: str) -> str:
    """How messages name an inline template: `inline("...")`, cut at 40 characters."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    return f"inline({json.dumps(shown, ensure_ascii=False)})"


class TemplateFailure(Exception):
    """A template failed to compile or render because of what it says: the user's to fix, not a bug."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class TemplateProblem:
    """Why a template failed: its line (when known), what happened, and which kind of failure it was."""

    line: int | None
    text: str
    kind: str  # "syntax", "sandbox", "undefined" or "expression"

    def hint(self, variables: str) -> str:
        return {"syntax": "fix the template's Jinja2 syntax (`ragdsl check` shows where)",
                "sandbox": "templates run in a sandbox without Python internals; use the variables' fields "
                           "and Jinja2 filters",
                "undefined": variables}.get(self.kind, "check the expression against the Jinja2 documentation "
                                                        f"({variables})")


def template_problem(exc: BaseException) -> TemplateProblem | None:
    """What went wrong in a template, for an exception raised while compiling or rendering one; None when the
    exception did not come from the template (a bug elsewhere, which stays an internal error)."""
    from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError

    # Jinja2 rewrites tracebacks so that a template's frames carry its own line numbers.
    lines = [lineno for frame, lineno in traceback.walk_tb(exc.__traceback__)
             if frame.f_code.co_filename == "<template>"]
    line = lines[-1] if lines else None
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, TemplateSyntaxError):
        return TemplateProblem(exc.lineno, message, "syntax")
    if isinstance(exc, SecurityError):
        return TemplateProblem(line, f"sandbox refused it: {message}", "sandbox")
    if isinstance(exc, UndefinedError):
        return TemplateProblem(line, message, "undefined")
    if isinstance(exc, TemplateError) or line is not None:  # a user's expression can raise anything ("a" / 0)
        return TemplateProblem(line, message if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}",
                               "expression")
    return None
