"""Templates written by users (layouts, e-mail templates, subjects): checked at save — syntax,
fields outside the allow-list, limits, each problem with its line — and rendered in the
sandbox (``suivi.lib.sandbox``) with plain values only."""

import re
import traceback
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError

from .sandbox import MAX_TEMPLATE_CHARS, Sandbox, render_within_limits

TEMPLATE_NAME = "<template>"
FAILURES = (TemplateError, RecursionError, ArithmeticError, TypeError, ValueError)


@dataclass
class TemplateProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line:
            return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}
        return self.message


class TemplateFailed(Exception):
    """A stored template that no longer renders (it was checked at save; data can still differ)."""

    def __init__(self, problem: TemplateProblem):
        super().__init__(str(problem))
        self.problem = problem


def _line_of(error: BaseException) -> int | None:
    line = getattr(error, "lineno", None)
    if line:
        return line
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == TEMPLATE_NAME:
            return frame.lineno
    return None


def problem_of(error: BaseException) -> TemplateProblem:
    """``error`` of Jinja as a message in the user's language, with its line."""
    line = _line_of(error)
    if isinstance(error, TemplateSyntaxError):
        return TemplateProblem(line, _("the template cannot be read (%(detail)s).") % {"detail": error.message})
    if isinstance(error, UndefinedError):
        found = re.findall(r"'([^']+)'", str(error))
        name = found[-1] if found else str(error)
        return TemplateProblem(line, _("unknown field “%(name)s”.") % {"name": name})
    if isinstance(error, SecurityError):
        return TemplateProblem(line, _("not allowed in a template: %(detail)s.") % {"detail": str(error).rstrip(".")})
    if isinstance(error, RecursionError):
        return TemplateProblem(line, _("the template calls itself too deeply."))
    return TemplateProblem(line, _("the template fails: %(detail)s.") % {"detail": str(error)[:200]})


def _unknown_names(source: str, env: Sandbox, roots: dict[str, Any]) -> list[TemplateProblem]:
    """Fields the template names outside the allow-list, found without running it (so a field in
    a branch the specimen does not take is reported too)."""
    tree = env.parse(source)
    problems = []
    undeclared = meta.find_undeclared_variables(tree) - {"__loop_guard"}
    for name in sorted(undeclared - set(roots)):
        first = next((n for n in tree.find_all(nodes.Name) if n.name == name), None)
        problems.append(
            TemplateProblem(first.lineno if first else None, _("unknown field “%(name)s”.") % {"name": name})
        )
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in roots:
            allowed = roots[node.node.name]
            if isinstance(allowed, dict) and node.attr not in allowed:
                problems.append(
                    TemplateProblem(
                        node.lineno,
                        _("unknown field “%(name)s”. Fields of %(root)s: %(fields)s.")
                        % {
                            "name": f"{node.node.name}.{node.attr}",
                            "root": node.node.name,
                            "fields": ", ".join(allowed),
                        },
                    )
                )
    return problems


def check(source: str, env: Sandbox, specimen: dict[str, Any]) -> list[TemplateProblem]:
    """What is wrong with a user template, each problem with its line; empty when it renders.

    It is parsed, checked against the allow-list of fields (the keys of ``specimen``, and of its
    dict values), then rendered with ``specimen`` within the sandbox's limits.
    """
    if len(source) > MAX_TEMPLATE_CHARS:
        return [
            TemplateProblem(None, _("A template holds at most %(limit)s characters.") % {"limit": MAX_TEMPLATE_CHARS})
        ]
    try:
        problems = _unknown_names(source, env, specimen)
        if problems:
            return problems
        _render(env, source, specimen)
    except FAILURES as e:
        return [problem_of(e)]
    return []


def _render(env: Sandbox, source: str, context: dict[str, Any]) -> str:
    code = env.compile(source, name=TEMPLATE_NAME, filename=TEMPLATE_NAME)
    template = env.template_class.from_code(env, code, env.make_globals(None), None)
    return render_within_limits(template, context)


def render(source: str, env: Sandbox, context: dict[str, Any], language: str) -> str:
    """``source`` rendered with ``context`` (plain values) in ``language``; TemplateFailed if it
    fails."""
    try:
        with translation.override(language):
            return _render(env, source, context)
    except FAILURES as e:
        raise TemplateFailed(problem_of(e)) from e
