"""Where grading gets what it compares a student's outputs with: a reference source.

Besides the student's outputs, grading one exercise needs

- its public functions (case generators, property predicates, evaluators), from the public
  module `exercises/exNN_slug_grading.py` (grader.course): code a student release carries;
- reference values: a reference function's output on a call's arguments, each catalogued
  mistake's output on them (or the exception it raises), the finite differences of a
  gradient check's scalar function on a case.

A reference source gives both, by the methods below. Two implement them:
`SolutionReferences` computes the values now, from the solution module (the full course);
`grader.keys.KeyReferences` reads them from a release's reference key, which the full course
computed with a `SolutionReferences`. The cases (`grader.cases.build_inputs`) and the checks
(`grader.checks.Context`, which the kinds ask) use whichever they are given in the same way,
so grading from a key runs exactly the code that grading from the solutions runs.

    function(name)                          a public function of the exercise
    case_inputs(case, inputs)               the inputs just built for `case` (a key checks
                                            that they are those it was made with)
    output(name, call)                      reference function `name` on `call.args`
    variants(mistake)                       the `Variant`s of a catalogued mistake: the
                                            ways of computing it that a diagnosis tries
    mistake(variant, call)                  that variant (or a spec `Mistake` as it is) on
                                            `call.args`; may raise
    finite_differences(of, wrt, eps, run)   ∂of/∂wrt by central differences on the case

`call` is a `grader.checks.CallRun` (its `key` names the case and how its inputs were
derived: a diagnosis asks for outputs on calls of its own making too, an input set to 0,
say), `run` a `grader.checks.CaseRun`.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

#: a mistake's knob (a keyword-only float parameter of its function: the step it hard-codes)
#: is tried at its default times each of these
KNOB_FACTORS = (1e-2, 1e-1, 1e1, 1e2)


@dataclass(frozen=True)
class Variant:
    """One way of computing a catalogued mistake that a diagnosis tries: its function
    `mistake_<id>` (`form` 0) or another form of it, `mistake_<id>__<name>` (`form` that
    name, `description` its docstring: how the form differs, added to the message), called
    with the keyword arguments `knobs` ((name, value) pairs: filled into the message).

    `id` names its values in a reference key: the mistake's own id for its function as
    written."""

    mistake: object  #: the spec's `Mistake`
    id: str
    form: str = ""
    description: str = ""
    knobs: tuple = ()

    @property
    def solution_attr(self) -> str:
        attr = self.mistake.solution_attr
        return f"{attr}__{self.form}" if self.form else attr

    def to_json(self) -> list:
        return [self.id, self.form, self.description, [list(k) for k in self.knobs]]

    @classmethod
    def from_json(cls, mistake, data) -> "Variant":
        key, form, description, knobs = data
        return cls(mistake, str(key), str(form), str(description),
                   tuple((str(name), float(value)) for name, value in knobs))


class SolutionReferences:
    """Reference values computed from the solution module, now (trusted parent only).

    A public function is looked up in the public module, then in the solution module: a
    course written before the public modules existed still grades, though `grade release`
    and `grade validate` ask for the function to be moved (a release has no solutions)."""

    def __init__(self, solution, public):
        self.solution, self.public = solution, public

    def function(self, name: str):
        found = getattr(self.public, name, None)
        return found if callable(found) else getattr(self.solution, name)

    def solution_function(self, name: str):
        """A secret function of the solution module (`grade validate` looks at them; a
        student release has none)."""
        return getattr(self.solution, name)

    def case_inputs(self, case, inputs: dict) -> None:
        pass  # computed from these very inputs: nothing to check

    def output(self, name: str, call):
        return getattr(self.solution, name)(*copy.deepcopy(call.args))

    def variants(self, mistake) -> list[Variant]:
        """The mistake's function and its other forms (`mistake_<id>__<name>`, in the order
        the module defines them), each at its knobs' defaults, then at each default times
        `KNOB_FACTORS`."""
        attr = mistake.solution_attr
        forms = [("", getattr(self.solution, attr))]
        forms += [(name[len(attr) + 2:], value) for name, value in vars(self.solution).items()
                  if name.startswith(attr + "__") and callable(value)]
        found = []
        for form, function in forms:
            description = " ".join((inspect.getdoc(function) or "").split()) if form else ""
            defaults = _knobs(function)
            settings = [defaults] + [{**defaults, name: value * factor}
                                     for name, value in defaults.items()
                                     for factor in KNOB_FACTORS]
            for k, knobs in enumerate(settings):
                key = mistake.id + (f"/{form}" if form else "") + \
                    ("".join(f"/{name}={value!r}" for name, value in knobs.items()) if k else "")
                found.append(Variant(mistake, key, form, description, tuple(knobs.items())))
        return found

    def mistake(self, mistake, call):
        function = getattr(self.solution, mistake.solution_attr)
        return function(*copy.deepcopy(call.args), **dict(getattr(mistake, "knobs", ())))

    def finite_differences(self, of: str, wrt: str, eps: float, run):
        from .kinds.gradcheck import central_differences

        return central_differences(getattr(self.solution, of), run.inputs, wrt, eps)


def _knobs(function) -> dict:
    """A mistake function's knobs: its keyword-only parameters with a float default."""
    return {p.name: p.default for p in inspect.signature(function).parameters.values()
            if p.kind is p.KEYWORD_ONLY and isinstance(p.default, float)}
