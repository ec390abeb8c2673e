"""YAML → plain Python values, remembering the line of every field.

Spec errors must name the file, the line and the field; PyYAML's composed nodes carry the
line, so we build the values from the nodes ourselves and keep a path → line table.

Importing and running PyYAML costs more than grading a small exercise, so a parsed document
is cached as JSON, keyed by the hash of the file's text (any edit invalidates it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecError
from .files import atomic_write

CACHE_FORMAT = 1


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
    key = hashlib.sha256(f"{CACHE_FORMAT}\0{text}".encode()).hexdigest()
    cached = _read_cache(key, path)
    if cached is not None:
        return cached
    doc = _parse(path, text)
    _write_cache(key, doc)
    return doc


def cache_dir() -> Path:
    base = os.environ.get("GRADEWISE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gradewise")
    return Path(base) / "specs"


def _read_cache(key: str, path: Path) -> LocatedDocument | None:
    try:
        data = json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
        lines = {tuple(p): int(n) for p, n in data["lines"]}
        return LocatedDocument(path, data["value"], lines)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(key: str, doc: LocatedDocument) -> None:
    folder = cache_dir()
    data = {"value": doc.value, "lines": [[list(p), n] for p, n in doc.lines.items()]}
    try:
        text = json.dumps(data)
        if json.loads(text)["value"] != doc.value:  # int keys, NaN, dates: parse each time
            return
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{key}.json", text)
    except (OSError, TypeError, ValueError):  # a cache is optional: never fail over it
        pass


def _parse(path: Path, text: str) -> LocatedDocument:
    import yaml

    try:  # the C loader is several times faster; fall back when libyaml is absent
        from yaml import CSafeLoader as loader
    except ImportError:  # pragma: no cover - depends on the PyYAML build
        from yaml import SafeLoader as loader
    try:
        node = yaml.compose(text, Loader=loader)
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
    import yaml

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


def _scalar(node):
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        return repr(node)
    return _constructor().construct_object(node, deep=True)


_CONSTRUCTORS: list = []


def _constructor():
    if not _CONSTRUCTORS:
        import yaml
        _CONSTRUCTORS.append(yaml.constructor.SafeConstructor())
    return _CONSTRUCTORS[0]
