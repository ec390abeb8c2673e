"""Exercise specs: `exercises/exNN_slug.yaml` → frozen dataclasses.

Every field a spec may hold is documented on the dataclass that holds it. Parsing checks
`format_version` first, then rejects unknown keys, wrong types and dangling references
with the file, the line and the field (`ex03_jacobians.yaml:14: checks[2].points: ...`).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .yamlsource import LocatedDocument, load_yaml

FORMAT_VERSION = 1
SPEC_NAME = re.compile(r"^ex(\d\d)_([A-Za-z0-9_]+)\.yaml$")  # slugs like `grad_W` (the README's exercise table)


@dataclass(frozen=True)
class Function:
    """A function the student writes; the stub is rendered from these fields alone."""

    name: str  #: Python identifier, e.g. `softmax`
    signature: str  #: parameter list with parentheses, e.g. `(W, X)` or `(func, x, eps=1e-6)`
    docstring: str  #: what to compute, shapes in and out; becomes the stub's docstring

    @cached_property
    def params(self) -> tuple[str, ...]:
        """Parameter names in order; cases bind inputs to them by name."""
        args = ast.parse(f"def f{self.signature}: pass").body[0].args
        return tuple(a.arg for a in args.posonlyargs + args.args)

    @cached_property
    def required_params(self) -> tuple[str, ...]:
        args = ast.parse(f"def f{self.signature}: pass").body[0].args
        return self.params[: len(self.params) - len(args.defaults)]


@dataclass(frozen=True)
class Case:
    """Inputs for the checked functions: literals, seeded random draws, or generated data.

    `inputs` maps a parameter name to one of:
      - a number, string or boolean, passed as it is;
      - a (nested) list of numbers → float64 array;
      - `{normal: SHAPE, loc: 0, scale: 1}`, `{uniform: SHAPE, low: 0, high: 1}`,
        `{integers: SHAPE, low: 0, high: H}` with SHAPE a list of ints or names from `dims`;
      - `{array: NESTED_LIST, dtype: float64|int64|bool}`;
      - `{function: NAME}`, a test function from `grader.testfuncs`.
    `generate` names a function `NAME(rng, **dims)` of the solution module returning a dict
    of further inputs (for inputs that depend on each other, or shipped data).

    Random draws and generators change with the seed; literal inputs do not, so a literal
    case says how it varies: `vary` is a list of `Variation` steps, applied in order to the
    inputs under any seed but the public one (`grader.cases.DEFAULT_SEED`, 0), where the
    case stays exactly as written. `vary: fixed` marks a case that must stay the same
    under every seed (say why in a comment beside it).
    """

    name: str  #: unique within the spec, shown to the student (`huge-logits`)
    note: str = ""  #: one line telling the student what the case is about; true of every variant
    dims: dict = field(default_factory=dict)  #: named sizes, e.g. `{N: 4, C: 3}`
    inputs: dict = field(default_factory=dict)
    generate: str | None = None
    functions: tuple[str, ...] = ()  #: restrict the case to these functions (default: any)
    vary: tuple[Variation, ...] = ()  #: how the inputs change under a non-public seed
    fixed: bool = False  #: `vary: fixed`: the same under every seed, deliberately

    @property
    def seeded(self) -> bool:
        """Whether the inputs change with the seed (random draws, a generator or `vary`)."""
        return bool(self.generate or self.vary) or any(
            isinstance(v, dict) and set(RANDOM_DRAWS) & set(v) for v in self.inputs.values())


@dataclass(frozen=True)
class Variation:
    """One step of a case's `vary`: one random draw, shared by every input it names.

    Exactly one operation key:
      - `permute: AXIS`: shuffle the positions along AXIS (the same shuffle for every
        input), one that changes the inputs when one can;
      - `scale: [LOW, HIGH]`: multiply by a factor drawn in [LOW, HIGH] (float inputs);
      - `shift: [LOW, HIGH]`: add an offset drawn in [LOW, HIGH] (an integer one for
        integer inputs);
      - `sign: true`: multiply by −1 or +1;
      - `normalize: AXIS`: divide by the sum along AXIS (after `scale` with `each`: a new
        distribution with the same zeros);
      - `relabel: [LOW, HIGH]`: integer inputs: a one-to-one map of their distinct values
        to values drawn in LOW..HIGH−1 (equal stays equal, different stays different).
    `each: true` draws one factor, offset or sign per entry of every input named, instead
    of one for all.
    Keep what the case tests with the choice of steps and ranges: shift tied entries
    together, keep ±1e4 beyond ±709 with a range of sizes, keep zeros with `scale`.
    """

    op: str  #: permute | scale | shift | sign | normalize | relabel
    arg: object  #: the operation's value: an axis, `[low, high]` or `true`
    inputs: tuple[str, ...] = ()  #: inputs changed together; default: every literal one
    each: bool = False  #: scale, shift, sign: one draw per entry of every input
    labels: tuple[str, ...] = ()  #: permute: integer inputs holding positions along AXIS, remapped to follow them
    keep: tuple[int, ...] = ()  #: permute: positions that stay; relabel: values that map to themselves (and that no other value takes)


@dataclass(frozen=True)
class Check:
    """One graded check of one student function over some cases (all must pass)."""

    name: str  #: shown to the student, unique within the spec
    function: str  #: the student function under test (one of `functions`)
    #: compare | gradcheck | property | train | monotone, or a registered kind (grader.kinds)
    kind: str
    points: float
    cases: tuple[str, ...] = ()  #: case names; default: every case that has the inputs
    select: tuple = ()  #: path into the output (tuple index / dict key), e.g. `[1, W]`
    timeout: float | None = None  #: seconds per call (default: the sandbox's Limits)
    #: the kind's own fields, each documented in its module (`grader/kinds/compare.py`,
    #: ...): field → value, for every option of the kind (defaults filled in)
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: `mistake_<id>` in the solution module computes it."""

    id: str  #: stable id, kebab-case (`forgot-fprime`); the diagnosis shown when matched
    function: str  #: the student function it replaces
    message: str  #: the misconception in the lecture's words, with what to do
    hint: int | None = None  #: 1-based index of the hint that addresses it
    fails: tuple[str, ...] | None = None  #: names of the checks it must fail (validate)

    @property
    def solution_attr(self) -> str:
        return "mistake_" + self.id.replace("-", "_")


@dataclass(frozen=True)
class Spec:
    """One exercise. The spec is the only source of its stub, notebook and grading."""

    path: Path
    format_version: int  #: must be 1
    number: int  #: 1..99, also in the file name `exNN_slug.yaml`
    slug: str  #: also in the file name; the stub is `workspace/exNN_slug.py`
    title: str
    points: float  #: must equal the sum of the checks' points
    statement: str  #: Markdown with LaTeX ($...$), following the lecture's notation
    functions: tuple[Function, ...]
    cases: tuple[Case, ...]
    checks: tuple[Check, ...]
    hints: tuple[str, ...]  #: most general first; `grade hint N` shows them in order
    mistakes: tuple[Mistake, ...] = ()
    solution: str = ""  #: file in `solutions/`, default `exNN_slug.py`
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    def error(self, path: tuple, problem: str):
        """A SpecError pointing at the line of `path` in this spec's file."""
        from .yamlsource import LocatedDocument
        return LocatedDocument(self.path, None, self.lines).error(path, problem)

    @property
    def stem(self) -> str:
        return f"ex{self.number:02d}_{self.slug}"

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def case(self, name: str) -> Case:
        return next(c for c in self.cases if c.name == name)

    def cases_for(self, check: Check) -> tuple[Case, ...]:
        if check.cases:
            return tuple(self.case(name) for name in check.cases)
        required = set(self.function(check.function).required_params)
        return tuple(c for c in self.cases if _case_covers(c, check.function, required))


def _case_covers(case: Case, function: str, required: set) -> bool:
    if case.functions and function not in case.functions:
        return False
    return bool(case.generate) or required <= set(case.inputs)


RANDOM_DRAWS = ("normal", "uniform", "integers")
GENERATORS = {
    "normal": {"loc": float, "scale": float},
    "uniform": {"low": float, "high": float},
    "integers": {"low": (int, str), "high": (int, str)},
    "array": {"dtype": str},
    "function": {},
}
DTYPES = ("float64", "int64", "bool")
# `vary` steps: operation → (what its value is, the keys it takes besides `inputs`)
VARY_OPS = {
    "permute": ("axis", ("labels", "keep")),
    "normalize": ("axis", ()),
    "scale": ("range", ("each",)),
    "shift": ("range", ("each",)),
    "sign": ("true", ("each",)),
    "relabel": ("range", ("keep",)),
}
# the kinds of input an operation takes (f float, i integer, b bool), when not "fi"
VARY_KINDS = {"scale": ("f", "float"), "normalize": ("f", "float"), "relabel": ("i", "integer"),
              "permute": ("fib", "array")}


def load_spec(path: Path) -> Spec:
    return _SpecReader(load_yaml(path)).spec()


class _SpecReader:
    def __init__(self, doc: LocatedDocument):
        self.doc = doc

    def spec(self) -> Spec:
        doc, top = self.doc, self.doc.value
        if not isinstance(top, dict):
            raise doc.error((), "expected a mapping of spec fields at the top level")
        version = top.get("format_version")
        if version != FORMAT_VERSION:
            raise doc.error(("format_version",) if "format_version" in top else (),
                            f"format_version: expected {FORMAT_VERSION}, got {version!r}"
                            if version is not None else
                            f"missing key 'format_version' (expected {FORMAT_VERSION})")
        self._keys((), top, required=("number", "slug", "title", "points", "statement",
                                      "functions", "cases", "checks", "hints"),
                   optional=("format_version", "mistakes", "solution"))
        number = self._get((), top, "number", int)
        slug = self._get((), top, "slug", str)
        match = SPEC_NAME.match(doc.path.name)
        if not match or int(match[1]) != number or match[2] != slug:
            raise doc.error(("number",), f"the file must be named ex{number:02d}_{slug}.yaml "
                            "(number and slug from the spec)")
        functions = tuple(self._function(i, f) for i, f in self._list((), top, "functions"))
        names = [f.name for f in functions]
        self._unique(("functions",), names, "function name")
        cases = tuple(self._case(i, c, names) for i, c in self._list((), top, "cases"))
        self._unique(("cases",), [c.name for c in cases], "case name")
        by_name = {f.name: f for f in functions}
        checks = tuple(self._check(i, c, by_name, cases) for i, c in self._list((), top, "checks"))
        self._unique(("checks",), [c.name for c in checks], "check name")
        hint_texts = dict(self._list((), top, "hints"))
        hints = tuple(self._get(("hints",), hint_texts, i, str) for i in hint_texts)
        mistakes = tuple(self._mistake(i, m, names, checks, len(hints))
                         for i, m in self._list((), top, "mistakes", required=False))
        self._unique(("mistakes",), [m.id for m in mistakes], "mistake id")
        points = self._number((), top, "points")
        total = sum(c.points for c in checks)
        if abs(total - points) > 1e-9:
            raise doc.error(("points",), f"expected the sum of the checks' points ({total:g}), "
                            f"got {points:g}")
        return Spec(path=doc.path, format_version=version, number=number, slug=slug,
                    title=self._get((), top, "title", str), points=points,
                    statement=self._get((), top, "statement", str), functions=functions,
                    cases=cases, checks=checks, hints=hints, mistakes=mistakes,
                    solution=self._get((), top, "solution", str, f"{match[0][:-5]}.py"),
                    lines=doc.lines)

    # -- pieces -------------------------------------------------------------------------

    def _function(self, i, raw) -> Function:
        path = ("functions", i)
        self._mapping(path, raw)
        self._keys(path, raw, required=("name", "signature", "docstring"))
        name = self._identifier(path, raw, "name")
        signature = self._get(path, raw, "signature", str)
        try:
            ast.parse(f"def f{signature}: pass")
        except SyntaxError:
            raise self.doc.error(path + ("signature",),
                                 f"expected a parameter list like '(W, x)', got {signature!r}")
        return Function(name, signature, self._get(path, raw, "docstring", str))

    def _case(self, i, raw, functions) -> Case:
        path = ("cases", i)
        self._mapping(path, raw)
        self._keys(path, raw, required=("name",),
                   optional=("note", "dims", "inputs", "generate", "functions", "vary"))
        dims = self._get(path, raw, "dims", dict, {})
        for key, value in dims.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise self.doc.error(path + ("dims", key), f"expected a size (int ≥ 0), got {value!r}")
        inputs = self._get(path, raw, "inputs", dict, {})
        for key, value in inputs.items():
            self._input(path + ("inputs", key), value, dims)
        only = tuple(self._get(path, raw, "functions", list, []))
        for j, name in enumerate(only):
            self._known(path + ("functions", j), name, functions, "function")
        generate = self._get(path, raw, "generate", str, None)
        if not inputs and not generate:
            raise self.doc.error(path, "a case needs 'inputs' or 'generate'")
        case = Case(self._get(path, raw, "name", str), self._get(path, raw, "note", str, ""),
                    dims, inputs, generate, only)
        if "vary" not in raw:
            return case
        if raw["vary"] == "fixed":
            if case.seeded:
                raise self.doc.error(path + ("vary",), "'fixed', but the case draws random "
                                     "inputs, which change with the seed anyway")
            return replace(case, fixed=True)
        steps = self._get(path, raw, "vary", list)
        if not steps:
            raise self.doc.error(path + ("vary",), "expected a list of steps like "
                                 "[{permute: 0}, {scale: [0.8, 1.25]}], or 'fixed'")
        return replace(case, vary=tuple(self._variation(path + ("vary", j), step, case)
                                        for j, step in enumerate(steps)))

    def _variation(self, path, raw, case) -> Variation:
        self._mapping(path, raw)
        ops = [k for k in raw if k in VARY_OPS]
        if len(ops) != 1:
            raise self.doc.error(path, "expected exactly one of " + ", ".join(VARY_OPS))
        op = ops[0]
        self._keys(path, raw, required=(op,), optional=("inputs",) + VARY_OPS[op][1])
        literals = {name: _literal_form(value) for name, value in case.inputs.items()}
        names = tuple(self._get(path, raw, "inputs", list,
                                [name for name, form in literals.items() if form]))
        if not names:
            raise self.doc.error(path, "the case has no literal numbers or arrays: name the "
                                 "inputs to vary (inputs: [...])")
        kinds = VARY_KINDS.get(op, ("fi", "numeric"))
        shapes = {name: self._vary_target(path + ("inputs", j), name, literals, case, op, kinds)
                  for j, name in enumerate(names)}
        known = {name: shape for name, shape in shapes.items() if shape is not None}
        labels = tuple(self._get(path, raw, "labels", list, []))
        for j, name in enumerate(labels):
            self._vary_target(path + ("labels", j), name, literals, case, "labels",
                              ("i", "integer"))
        keep = tuple(self._get(path, raw, "keep", list, []))
        for j, value in enumerate(keep):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.doc.error(path + ("keep", j), f"expected an integer, got {value!r}")
        return Variation(op, self._vary_arg(path, raw, op, known, literals), names,
                         self._get(path, raw, "each", bool, False), labels, keep)

    def _vary_arg(self, path, raw, op, known, literals):
        """The value of a `vary` step's operation, checked against its literal inputs."""
        takes, value = VARY_OPS[op][0], raw[op]
        if takes == "true":
            if value is not True:
                raise self.doc.error(path + (op,), f"expected true, got {value!r}")
            return True
        if takes == "range":
            integral = op == "relabel" or op == "shift" and any(
                literals[name][1] == "i" for name in known)
            return self._range(path + (op,), value, integral, strict=op == "relabel")
        axis = self._get(path, raw, op, int)
        for name, shape in known.items():
            if not -len(shape) <= axis < len(shape):
                raise self.doc.error(path + (op,), f"axis {axis} is out of range for "
                                     f"{name!r} of shape {shape}")
        if op == "permute" and len({shape[axis] for shape in known.values()}) > 1:
            raise self.doc.error(path + ("inputs",), f"the inputs must have the same length "
                                 f"along axis {axis}: "
                                 + ", ".join(f"{name} {shape}" for name, shape in known.items()))
        return axis

    def _range(self, path, value, integral, strict):
        kinds = (int,) if integral else (int, float)
        if (not isinstance(value, list) or len(value) != 2
                or any(isinstance(v, bool) or not isinstance(v, kinds) for v in value)
                or value[0] > value[1] or strict and value[0] == value[1]):
            raise self.doc.error(path, f"expected [low, high] with low {'<' if strict else '≤'} "
                                 f"high{' (integers)' if integral else ''}, got {value!r}")
        return tuple(value)

    def _vary_target(self, path, name, literals, case, what, kinds):
        """The shape of a literal input `vary` may change; None for one the generator makes
        (checked when built)."""
        if name in literals and literals[name]:
            shape, kind = literals[name]
            if kind not in kinds[0]:
                raise self.doc.error(path, f"{what} needs {kinds[1]} inputs; {name!r} is "
                                     f"{_KIND_NAMES[kind]}")
            return shape
        if name in literals:
            raise self.doc.error(path, f"{name!r} is not a literal number or array "
                                 "(random draws change with the seed already)")
        if not case.generate:
            raise self.doc.error(path, f"unknown input {name!r}; expected one of "
                                 f"{', '.join(n for n, f in literals.items() if f)}")
        return None

    def _input(self, path, value, dims):
        if not isinstance(value, dict):
            return
        kinds = [k for k in value if k in GENERATORS]
        if len(kinds) != 1:
            raise self.doc.error(path, "expected exactly one of " + ", ".join(GENERATORS))
        kind = kinds[0]
        self._keys(path, value, required=(kind,), optional=tuple(GENERATORS[kind]))
        if kind in ("normal", "uniform", "integers"):
            shape = value[kind]
            if not isinstance(shape, list):
                raise self.doc.error(path + (kind,), f"expected a shape list like [N, 3], got {shape!r}")
            for j, d in enumerate(shape):
                if not (isinstance(d, int) and d >= 0) and d not in dims:
                    raise self.doc.error(path + (kind, j), f"expected a size or one of the dims "
                                         f"{sorted(dims)}, got {d!r}")
            if kind == "integers" and "high" not in value:
                raise self.doc.error(path, "missing key 'high' (exclusive upper bound)")
        if kind == "array" and value.get("dtype", "float64") not in DTYPES:
            raise self.doc.error(path + ("dtype",), f"expected one of {DTYPES}, got {value['dtype']!r}")
        if kind == "function":
            from . import testfuncs
            self._known(path + ("function",), value["function"], testfuncs.NAMES, "test function")

    def _check(self, i, raw, functions, cases) -> Check:
        from . import kinds  # here: a spec's kinds are imported only when one is read

        path = ("checks", i)
        self._mapping(path, raw)
        kind_name = self._get(path, raw, "kind", str)
        kind = kinds.get(kind_name)
        if kind is None:
            raise self.doc.error(path + ("kind",), f"unknown check kind {kind_name!r}; expected "
                                 f"one of {', '.join(kinds.names())}")
        self._keys(path, raw, required=("name", "function", "kind", "points"),
                   optional=("cases", "select", "timeout") + tuple(kind.options))
        function = self._known(path + ("function",), raw.get("function"), functions, "function")
        case_names = tuple(self._get(path, raw, "cases", list, []))
        known_cases = [c.name for c in cases]
        for j, name in enumerate(case_names):
            self._known(path + ("cases", j), name, known_cases, "case")
        options = {key: self._option(path, raw, key, option, kind_name, functions[function])
                   for key, option in kind.options.items()}
        points = self._number(path, raw, "points")
        if points < 0:
            raise self.doc.error(path + ("points",), f"expected a number ≥ 0, got {points:g}")
        select = tuple(self._get(path, raw, "select", list, []))
        timeout = self._number(path, raw, "timeout", None)
        return Check(self._get(path, raw, "name", str), function, kind_name, points, case_names,
                     select, timeout, options)

    def _option(self, path, raw, key, option, kind, function):
        """The value of a kind's option in a check (grader.kinds.Option), checked."""
        from .kinds import REQUIRED

        if option.default is REQUIRED and key not in raw:
            raise self.doc.error(path, f"missing key '{key}' (needed by kind '{kind}')")
        default = None if option.default is REQUIRED else option.default
        value = (self._number(path, raw, key, default) if option.type is float
                 else self._get(path, raw, key, option.type, default))
        if option.choices and value not in option.choices:
            raise self.doc.error(path + (key,), f"expected one of "
                                 f"{', '.join(map(str, option.choices))}, got {value!r}")
        if option.parameter and key in raw and value not in function.params:
            raise self.doc.error(path + (key,), f"{value!r} is not a parameter of "
                                 f"{function.name}{function.signature}")
        return value

    def _mistake(self, i, raw, functions, checks, n_hints) -> Mistake:
        path = ("mistakes", i)
        self._mapping(path, raw)
        self._keys(path, raw, required=("id", "function", "message"), optional=("hint", "fails"))
        mid = self._get(path, raw, "id", str)
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", mid):
            raise self.doc.error(path + ("id",), f"expected a kebab-case id like 'forgot-fprime', got {mid!r}")
        function = self._known(path + ("function",), raw.get("function"), functions, "function")
        hint = self._get(path, raw, "hint", int, None)
        if hint is not None and not 1 <= hint <= n_hints:
            raise self.doc.error(path + ("hint",), f"expected a hint number 1..{n_hints}, got {hint}")
        fails = raw.get("fails")
        if fails is not None:
            fails = tuple(self._get(path, raw, "fails", list))
            for j, name in enumerate(fails):
                self._known(path + ("fails", j), name, [c.name for c in checks], "check")
        return Mistake(mid, function, self._get(path, raw, "message", str), hint, fails)

    # -- field helpers ------------------------------------------------------------------

    def _mapping(self, path, raw):
        if not isinstance(raw, dict):
            raise self.doc.error(path, f"expected a mapping, got {_kind(raw)}")

    def _keys(self, path, raw, required=(), optional=()):
        for key in required:
            if key not in raw:
                raise self.doc.error(path, f"missing key '{key}'")
        allowed = set(required) | set(optional)
        for key in raw:
            if key not in allowed:
                raise self.doc.error(path + (key,), f"unknown key {key!r}; expected one of "
                                     f"{', '.join(sorted(allowed))}")

    _MISSING = object()

    def _get(self, path, raw, key, expected, default=_MISSING):
        if key not in raw:
            if default is self._MISSING:
                raise self.doc.error(path, f"missing key '{key}'")
            return default
        value = raw[key]
        if expected is int and isinstance(value, bool) or not isinstance(value, expected):
            names = (" or ".join(t.__name__ for t in expected) if isinstance(expected, tuple)
                     else _TYPE_NAMES.get(expected, expected.__name__))
            raise self.doc.error(path + (key,), f"expected {names}, got {_kind(value)}")
        return value

    def _number(self, path, raw, key, default=_MISSING):
        if key not in raw and default is not self._MISSING:
            return default
        value = self._get(path, raw, key, (int, float, str))
        if isinstance(value, str):  # PyYAML reads `1e-7` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise self.doc.error(path + (key,), f"expected a number, got {value!r}") from None
        if isinstance(value, bool):
            raise self.doc.error(path + (key,), f"expected a number, got {value!r}")
        return float(value)

    def _list(self, path, raw, key, required=True):
        value = self._get(path, raw, key, list, None if required else [])
        if value is None:
            raise self.doc.error(path, f"missing key '{key}'")
        return list(enumerate(value))

    def _identifier(self, path, raw, key):
        name = self._get(path, raw, key, str)
        if not name.isidentifier():
            raise self.doc.error(path + (key,), f"expected a Python identifier, got {name!r}")
        return name

    def _known(self, path, name, known, what):
        if name not in known:
            listed = ", ".join(repr(k) if "," in str(k) else str(k) for k in known)
            split = next((k for k in known if isinstance(name, str) and "," in str(k)
                          and str(k).startswith(name + ",")), None)
            # YAML's flow list [a, b] splits a name at its commas
            hint = (f" (in a list written [..., ...] a comma ends a name: quote it, "
                    f"[{json.dumps(split, ensure_ascii=False)}])") if split else ""
            raise self.doc.error(path, f"unknown {what} {name!r}; expected one of "
                                 f"{listed}{hint}")
        return name

    def _unique(self, path, names, what):
        seen = set()
        for i, name in enumerate(names):
            if name in seen:
                raise self.doc.error(path + (i,), f"duplicate {what} {name!r}")
            seen.add(name)


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list",
               dict: "a mapping", bool: "true or false"}
_KIND_NAMES = {"f": "float", "i": "integer", "b": "boolean"}


def _literal_form(raw):
    """(shape, kind) of a literal number or array input: kind is "f", "i" or "b";
    None for anything else (random draws, test functions, strings, ragged lists)."""
    if isinstance(raw, dict):
        if "array" not in raw:
            return None
        kind = {"float64": "f", "int64": "i", "bool": "b"}[raw.get("dtype", "float64")]
        shape = _nested_shape(raw["array"])
        return (shape, kind) if shape is not None else None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, list)):
        return None
    if isinstance(raw, list):
        shape = _nested_shape(raw)
        return (shape, "f") if shape is not None else None
    return ((), "i" if isinstance(raw, int) else "f")


def _nested_shape(raw) -> tuple | None:
    if not isinstance(raw, list):
        return () if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
    inner = {_nested_shape(item) for item in raw}
    if len(inner) > 1 or None in inner:
        return None
    return (len(raw), *(inner.pop() if inner else ()))


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", str: f"{value!r}", type(None): "nothing"}.get(
        type(value), repr(value))
