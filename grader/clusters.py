"""Misconception clusters: students of a class who gave the same wrong answer to a check that
no diagnosis explains — how a course finds the mistakes it does not catalogue yet.

For each check, the students who failed it without a diagnosis (`CheckResult.diagnosis` is
None: no catalogued mistake of the exercise, no generic one such as `transposed`) are
grouped by their answer on the case their feedback shows (`Evidence`): the same case, the
same reference value there, and outputs equal within the check's own tolerance
(`results.CheckInfo.rtol`/`atol`). A group of at least MIN_STUDENTS students is a cluster:
one student's wrong answer is a slip, two or more giving the same one is a pattern.

Clusters are made from results as a batch's folder keeps them (`Evidence.to_json`: values
of up to `values.KEPT_ENTRIES` entries whole; a larger array by the entries shown around its
worst one, its shape and `results.sample` of it), so `grade report DIR` finds the same
clusters as the batch did. Each student joins the first cluster (students in the order of
their feedback files' names) whose first student's answer theirs matches: the same class
always gives the same clusters, largest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .results import CheckInfo, ClassResults, ExerciseInfo, Evidence, kept
from .values import ArrayExcerpt, Shown, describe

MIN_STUDENTS = 2  #: students giving the same unexplained wrong answer that make a cluster
SCALING_RTOL = 1e-6  #: how constant got / expected must be to be called a scaling


@dataclass
class Cluster:
    """Students (`(name as shown, feedback file name)` pairs) who failed `check` of
    `exercise` with the same answer on `case`; `evidence`: the first student's."""

    exercise: ExerciseInfo
    check: CheckInfo
    evidence: Evidence
    students: list[tuple[str, str]] = field(default_factory=list)

    @property
    def difference(self) -> str:
        """How the answer differs from the reference's, in words (`difference`)."""
        return difference(self.evidence)

    def to_json(self) -> dict:
        """As `summary.json` holds it (`clusters`)."""
        return {"exercise": self.exercise.number, "slug": self.exercise.slug,
                "check": self.check.name, "function": self.check.function,
                "case": self.evidence.case, "size": len(self.students),
                "difference": self.difference,
                "expected": describe(kept(self.evidence.expected, self.evidence.worst_index)),
                "got": describe(kept(self.evidence.got, self.evidence.worst_index)),
                "students": [{"name": name, "file": file} for name, file in self.students]}


def find_clusters(results: ClassResults) -> list[Cluster]:
    """Every cluster of the class (see the module's docstring), largest first, then in the
    order of the exercises and their checks."""
    failures = _unexplained(results)
    clusters = []
    for info in results.exercises:
        for check in info.checks:
            groups: list[Cluster] = []
            for key, evidence in failures.get((info.number, check.name), []):
                group = next((g for g in groups if _same(g.evidence, evidence, check)), None)
                if group is None:
                    group = Cluster(info, check, evidence)
                    groups.append(group)
                group.students.append((results.students[key].student, results.file_name(key)))
            clusters += [g for g in groups if len(g.students) >= MIN_STUDENTS]
    # sorted() keeps the order of exercises and checks among clusters of one size
    return sorted(clusters, key=lambda c: -len(c.students))


def _unexplained(results: ClassResults) -> dict[tuple[int, str], list[tuple[str, Evidence]]]:
    """Per (exercise, check name), the students (their key in `results.students`, in the
    order of their feedback files' names) who failed it with no diagnosis, and the evidence
    holding their value."""
    failures: dict = {}
    for key in sorted(results.students, key=results.file_name):
        for result in results.students[key].results:
            if not result.submitted or result.error:
                continue
            for check in result.checks:
                if not check.passed and not check.diagnosis and check.evidence is not None \
                        and check.evidence.got is not None:
                    failures.setdefault((result.exercise, check.name), []).append(
                        (key, check.evidence))
    return failures


def _same(first: Evidence, other: Evidence, check: CheckInfo) -> bool:
    """Whether two failures of `check` are the same answer: the same case, the same
    reference value, and the values kept of the outputs (and their samples) equal within
    the check's tolerance."""
    if first.case != other.case:
        return False
    pairs = [(kept(first.expected, first.worst_index), kept(other.expected, other.worst_index)),
             (kept(first.got, first.worst_index), kept(other.got, other.worst_index)),
             (first.sampled_got(), other.sampled_got())]
    return all(_close(a, b, check.rtol, check.atol) for a, b in pairs)


def _close(a, b, rtol: float, atol: float) -> bool:
    from .compare import same  # the comparison the checks make; it loads the wire format

    if isinstance(a, (ArrayExcerpt, Shown)) or isinstance(b, (ArrayExcerpt, Shown)):
        if isinstance(a, ArrayExcerpt) and isinstance(b, ArrayExcerpt):
            return (a.shape, a.dtype, a.rows, a.cols) == (b.shape, b.dtype, b.rows, b.cols) \
                and same(a.values, b.values, rtol, atol)
        return a == b
    return same(a, b, rtol, atol)


# -- the difference, in words ---------------------------------------------------------------------

def difference(evidence: Evidence) -> str:
    """How `evidence.got` differs from `evidence.expected`, in one sentence: a constant
    factor ("every entry is 0.5 × the reference's"), a constant offset, else the worst entry
    (the check's own, or the one that differs most); for values kept in part
    (`ArrayExcerpt`), on the entries kept."""
    got = kept(evidence.got, evidence.worst_index)
    expected = kept(evidence.expected, evidence.worst_index)
    g, e = _numbers(got), _numbers(expected)
    if g is None or e is None or g.shape != e.shape or not np.all(np.isfinite(g)) \
            or not np.all(np.isfinite(e)):
        return f"returned {describe(got)} where the reference returns {describe(expected)}"
    of_kept = " (on the entries kept)" if isinstance(got, ArrayExcerpt) else ""
    if g.ndim == 0:
        ratio = f" ({_n(g / e)} × it)" if e != 0 else ""
        return f"returned {_n(g)} where the reference returns {_n(e)}{ratio}"
    nonzero = e != 0
    if np.any(nonzero) and np.all(g[~nonzero] == 0):
        ratios = g[nonzero] / e[nonzero]
        if np.allclose(ratios, ratios[0], rtol=SCALING_RTOL, atol=0):
            return f"every entry is {_n(ratios[0])} × the reference's{of_kept}"
    offsets = (g - e).reshape(-1)
    if np.allclose(offsets, offsets[0], rtol=SCALING_RTOL, atol=1e-12):
        return f"every entry is the reference's {'+' if offsets[0] >= 0 else '−'} " \
               f"{_n(abs(offsets[0]))}{of_kept}"
    at = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(g - e))), g.shape))
    index = _in_whole(got, at) if of_kept else at
    worst = evidence.worst_index
    if not of_kept and worst is not None and len(worst) == g.ndim and \
            all(0 <= i < n for i, n in zip(worst, g.shape)):
        at = index = tuple(int(i) for i in worst)  # the check's own worst entry
    return f"worst entry at index {index}: {_n(g[at])} where the reference has {_n(e[at])}"


def _numbers(value) -> np.ndarray | None:
    """`value` as a float64 array (the kept entries of an excerpt), or None if not numbers."""
    if isinstance(value, ArrayExcerpt):
        value = value.values
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.number)):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value.astype(np.float64)
    return None


def _in_whole(excerpt: ArrayExcerpt, at: tuple) -> tuple:
    """The index in the whole array of the entry at `at` of `excerpt.values`."""
    rows = [r for r in excerpt.rows if r is not None]
    cols = [c for c in excerpt.cols if c is not None]
    return (cols[at[1]],) if excerpt.ndim == 1 else (rows[at[0]], cols[at[1]])


def _n(x) -> str:
    x = float(x)
    return f"{x:.4g}" if x == 0 or 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"
