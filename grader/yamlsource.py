"""YAML → plain Python values, remembering the line of every field.

Spec errors must name the file, the line and the field; PyYAML's composed nodes carry the
line, so we build the values from the nodes ourselves and keep a path → line table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import SpecError

try:  # the C loader is several times faster; fall back when libyaml is absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader


@dataclass
class LocatedDocument:
    """A parsed YAML document and the 1-based line of each value, keyed by its path."""

    path: Path
    value: object
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, path: tuple) -> int:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: tuple, problem: str) -> SpecError:
        return SpecError(self.path, self.line(path), dotted(path), problem)


def dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path) -> LocatedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(path, None, "", f"cannot read the file ({exc.strerror})") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(path, line, "", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(path, None, "", f"YAML error: {exc}") from None
    doc = LocatedDocument(path, None)
    doc.value = _plain(node, (), doc) if node is not None else None
    return doc


def _plain(node, path: tuple, doc: LocatedDocument):
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                raise SpecError(doc.path, key_node.start_mark.line + 1, dotted(path + (key,)),
                                "this key appears twice")
            out[key] = _plain(value_node, path + (key,), doc)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, path + (i,), doc) for i, item in enumerate(node.value)]
    return _scalar(node)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node):
    if not isinstance(node, yaml.ScalarNode):
        return repr(node)
    return _CONSTRUCTOR.construct_object(node, deep=True)
