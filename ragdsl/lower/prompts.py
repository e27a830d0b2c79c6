"""ragdsl's built-in prompt, and what a prompt template may use.

Templates are Jinja2, rendered by Haystack's PromptBuilder in its sandboxed
environment, with two variables: `question` (a string) and `documents` (the
retrieved passages, each with `.content` and `.meta`; empty for closed-book
pipelines). This module imports jinja2 only inside `template_variables`.
"""

from __future__ import annotations

# The variables a pipeline feeds every prompt template.
PROMPT_VARIABLES = ("question", "documents")
REQUIRED_VARIABLES = ("question",)

# `prompt = default_prompt()`. Short answers suit exact-match and F1 scoring.
DEFAULT_PROMPT = """\
{% if documents -%}
Answer the question using only the passages below. Reply with the shortest
phrase from the passages that answers it, with no explanation. If the passages
do not contain the answer, reply "unknown".

{% for document in documents -%}
Passage {{ loop.index }}: {{ document.content }}
{% endfor %}
{% else -%}
Answer the question below with a short phrase and no explanation.

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
