"""ragdsl's built-in prompt, and what a prompt template may use.

Templates are Jinja2, rendered by Haystack's PromptBuilder in its sandboxed
environment, with the variables `question` (a string), `documents` (the
retrieved passages, each with `.content` and `.meta`; empty for closed-book
pipelines) and, in pipelines with `examples = fewshot(...)`, `examples` (each
with `.question`, `.answer`, `.answers`, `.context` and `.evidence`; see
ragdsl.lower.fewshot). This module imports jinja2 only inside `template_variables`.
"""

from __future__ import annotations

# The variables a pipeline feeds every prompt template.
PROMPT_VARIABLES = ("question", "documents")
EXAMPLES_VARIABLE = "examples"  # only in pipelines with few-shot examples, so other pipelines build as before
REQUIRED_VARIABLES = ("question",)

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
