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
    mistake(mistake, call)                  `mistake_<id>` on `call.args`; may raise
    finite_differences(of, wrt, eps, run)   ∂of/∂wrt by central differences on the case

`call` is a `grader.checks.CallRun` (its `key` names the case and how its inputs were
derived), `run` a `grader.checks.CaseRun`.
"""

from __future__ import annotations

import copy


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

    def mistake(self, mistake, call):
        return getattr(self.solution, mistake.solution_attr)(*copy.deepcopy(call.args))

    def finite_differences(self, of: str, wrt: str, eps: float, run):
        from .kinds.gradcheck import central_differences

        return central_differences(getattr(self.solution, of), run.inputs, wrt, eps)
