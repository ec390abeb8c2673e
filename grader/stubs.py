"""Stub files rendered from a spec: statement, signatures, docstrings, NotImplementedError.

The spec is the only source of a stub; notebooks reuse `function_stub`.
"""

from __future__ import annotations

import textwrap

from .spec import Function, Spec

HEADER = '''r"""Exercise {number} · {slug} — {title}

{statement}
Fill in every function below, then run:   grade exercise {number}
Stuck? A hint at a time:                  grade hint {number}
"""
import numpy as np
'''


def function_stub(function: Function) -> str:
    doc = _docstring_safe(function.docstring.strip())
    return (f"def {function.name}{function.signature}:\n"
            f'    r"""{textwrap.indent(doc, "    ").lstrip()}\n    """\n'
            f'    raise NotImplementedError("{function.name}")\n')


def render_stub(spec: Spec) -> str:
    header = HEADER.format(number=spec.number, slug=spec.slug, title=spec.title,
                           statement=_docstring_safe(spec.statement.strip()) + "\n")
    return header + "".join("\n\n" + function_stub(f) for f in spec.functions)


def _docstring_safe(text: str) -> str:
    text = text.replace('"""', "'''")
    return text + " " if text.endswith("\\") else text
