"""Reference keys: what grading an exercise needs from its solution module, computed by the
full course for some seeds, so that a student release grades without the solutions.

`build_key` grades nothing: it builds every case of every check under each seed and asks
a `Recorder` (wrapping the solution's reference source) for everything judging may use:
each kind's `reference_values` (the reference output of every call; a gradient check's
finite differences) and every catalogued mistake's output on every call of its function,
or the exception it raises. The recorder keeps each answer. `KeyReferences` gives them back
when a release grades, through the same methods (grader.references), so the kinds, the
diagnoses and the reports run the same code from a key as from the solutions.

A key is a JSON file, `keys/exNN_slug.json` (values in grader.values' encoding: lossless,
arrays with their dtype):

    {"format": 1, "exercise": 1, "slug": "softmax", "spec_sha256": "...",
     "gradewise": "0.1.0", "numpy": "2.1.3",
     "seeds": {"0": {"inputs":   [[case, sha256 of its inputs], ...],
                     "outputs":  [[reference function, call key, entry], ...],
                     "mistakes": [[mistake id, call key, entry], ...],
                     "finite_differences": [[of, wrt, eps, case, entry], ...]}}}

An entry is {"value": encoded value} or {"raises": {"type": "ValueError", "message": ...}};
a call key is `grader.checks.CallRun.key` (the case's name, and how the kind derived the
call's inputs from the case's). The spec's digest ties the key to the spec it was made from,
and each case's inputs (built again by the release, with its public generators) must hash
to the same digest: otherwise the key's values would belong to other inputs, and the
release says so instead of grading wrongly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import GradewiseError
from .values import decode, encode

FORMAT = 1
LIMIT_BYTES = 256 * 2**20  #: a key larger than this is refused as damaged


# -- making a key ---------------------------------------------------------------------------

def build_key(spec, references, seeds) -> dict:
    """The reference key of `spec` for `seeds` (JSON data, above), computed through
    `references` (a `grader.references.SolutionReferences`). Raises GradewiseError when a
    reference function or a gradient check's function fails on a case (a broken course:
    `grade validate` says more)."""
    import numpy as np

    from . import kinds
    from .checks import Context, case_runs

    per_seed = {}
    for seed in seeds:
        recorder = Recorder(references)
        ctx, built = Context(spec, recorder, "", 0, {}), {}
        for check in spec.checks:
            runs = case_runs(spec, check, seed, recorder, built)
            try:
                kinds.get(check.kind).reference_values(check, runs, ctx)
            except Exception as exc:
                raise GradewiseError(f"{spec.path.name}: check {check.name!r} under seed {seed}: "
                                     f"the reference failed ({type(exc).__name__}: {exc}); run "
                                     "`grade validate` and fix the solution") from exc
            for run in runs:
                for call in run.calls:
                    for _, produce in ctx.mistakes(check, call):
                        try:
                            produce()
                        except Exception:  # kept by the recorder: diagnoses match on it
                            pass
        per_seed[str(seed)] = recorder.data()
    return {"format": FORMAT, "exercise": spec.number, "slug": spec.slug,
            "spec_sha256": spec_digest(spec.path), "gradewise": _version(),
            "numpy": np.__version__, "seeds": per_seed}


class Recorder:
    """A reference source that asks `inner` and keeps every answer (one seed's key)."""

    def __init__(self, inner):
        self.inner = inner
        self.inputs, self.outputs, self.mistakes, self.differences = {}, {}, {}, {}

    def function(self, name):
        return self.inner.function(name)

    def case_inputs(self, case, inputs):
        self.inputs[case.name] = inputs_digest(inputs)

    def output(self, name, call):
        value = self.inner.output(name, call)
        self.outputs[(name, call.key)] = {"value": encode(value)}
        return value

    def mistake(self, mistake, call):
        try:
            value = self.inner.mistake(mistake, call)
        except Exception as exc:
            self.mistakes[(mistake.id, call.key)] = {"raises": {"type": type(exc).__name__,
                                                                "message": str(exc)}}
            raise
        self.mistakes[(mistake.id, call.key)] = {"value": encode(value)}
        return value

    def finite_differences(self, of, wrt, eps, run):
        value = self.inner.finite_differences(of, wrt, eps, run)
        self.differences[(of, wrt, eps, run.case.name)] = {"value": encode(value)}
        return value

    def data(self) -> dict:
        return {"inputs": sorted(self.inputs.items()),
                "outputs": [[name, encode(key), entry]
                            for (name, key), entry in self.outputs.items()],
                "mistakes": [[mistake, encode(key), entry]
                             for (mistake, key), entry in self.mistakes.items()],
                "finite_differences": [[*key, entry] for key, entry in self.differences.items()]}


def released(spec, references, seed: int, public) -> "KeyReferences":
    """The key of `spec` for `seed`, made through `references` and read back as a release
    reads it (JSON text and all), with the public module `public`: `grade validate` grades
    from it to prove that a release grades as the solutions do."""
    key = json.loads(_text(build_key(spec, references, [seed])))
    return KeyReferences(key["seeds"][str(seed)], public, spec, Path(f"keys/{spec.stem}.json"),
                         key["numpy"])


def write_key(path: Path, key: dict) -> None:
    from .files import atomic_write

    atomic_write(path, _text(key))


def _text(key: dict) -> str:
    # not sorted: a dict keeps its order (a report shows its keys in that order)
    return json.dumps(key, separators=(",", ":")) + "\n"


def spec_digest(path: Path) -> str:
    """sha256 of a spec's text, line endings made `\\n` (a clone on Windows may turn them
    into `\\r\\n`)."""
    text = Path(path).read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(text).hexdigest()


def inputs_digest(inputs: dict) -> str:
    """sha256 of a case's inputs in grader.values' encoding (exact: every bit of every
    number; a test function by its name)."""
    return hashlib.sha256(json.dumps(encode(inputs)).encode()).hexdigest()


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("gradewise")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- grading from a key -------------------------------------------------------------------------

def key_references(course, spec, seed: int) -> "KeyReferences":
    """The reference source of `spec` in the student release `course`, for `seed`. Raises
    GradewiseError when the key is missing or damaged, was made for another spec, has no
    such seed, or the public module lacks a function the spec names."""
    from .grading import check_public

    path = course.keys_dir / f"{spec.stem}.json"
    key = read_key(path)
    if key.get("spec_sha256") != spec_digest(spec.path):
        raise GradewiseError(f"{spec.path} is not the spec its reference key ({path.name}) was "
                             "made for: it was changed. Put it back as the release has it "
                             f"(git checkout exercises/{spec.path.name}), or ask your "
                             "instructor for a new release.")
    seeds = key.get("seeds") or {}
    if str(seed) not in seeds:
        course.seed(seed)  # names the release's seeds
        raise GradewiseError(f"{path} holds no reference values for seed {seed}: ask your "
                             "instructor for a new release")
    public = course.public(spec)
    check_public(spec, public)
    return KeyReferences(seeds[str(seed)], public, spec, path, key.get("numpy", "?"))


def read_key(path: Path) -> dict:
    """The key at `path`, as JSON data. Raises GradewiseError when it is missing, too big,
    or not a key of this format."""
    try:
        if path.stat().st_size > LIMIT_BYTES:
            raise ValueError(f"larger than {LIMIT_BYTES // 2**20} MB")
        key = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(key, dict) or key.get("format") != FORMAT:
            raise ValueError(f"not a reference key of format {FORMAT}")
    except FileNotFoundError:
        raise GradewiseError(f"{path} is missing: this release has no reference key for that "
                             "exercise (restore it with git, or ask your instructor)") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise GradewiseError(f"{path} is damaged ({exc}): restore it from the release "
                             f"(git checkout {path.parent.name}/{path.name})") from None
    return key


class RecordedError(Exception):
    """The exception a catalogued mistake raised when the key was made: the same type name
    and message (what the diagnoses compare), re-raised in a class of that name."""

    def __str__(self):
        return self.args[0]


class KeyReferences:
    """Reference values read from one seed of a reference key (see the module's docstring);
    public functions from the release's public module."""

    def __init__(self, data: dict, public, spec, path: Path, numpy_version: str):
        self.public, self.spec, self.path, self.numpy_version = public, spec, path, numpy_version
        try:
            self.inputs = dict(data["inputs"])
            self.outputs = {(name, decode(key)): entry for name, key, entry in data["outputs"]}
            self.mistakes = {(mid, decode(key)): entry for mid, key, entry in data["mistakes"]}
            self.differences = {tuple(row[:4]): row[4] for row in data["finite_differences"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise GradewiseError(f"{path} is damaged ({type(exc).__name__}: {exc}): restore it "
                                 "from the release") from None

    def function(self, name):
        return getattr(self.public, name)  # present: checked when the key was loaded

    def case_inputs(self, case, inputs):
        if self.inputs.get(case.name) == inputs_digest(inputs):
            return
        import numpy as np

        why = (f"the key was made with numpy {self.numpy_version}, this is numpy "
               f"{np.__version__}: `pip install numpy=={self.numpy_version}`, then grade again"
               if self.numpy_version != np.__version__ else
               f"was exercises/{self.spec.stem}_grading.py or exercises/data/ changed? Put the "
               "release's files back")
        raise GradewiseError(f"exercise {self.spec.number}, case {case.name!r}: its inputs are "
                             f"not those the reference key {self.path.name} was made with, so "
                             f"the key cannot grade them ({why}).")

    def output(self, name, call):
        return self._value(self.outputs, (name, call.key), f"the output of {name}", call.key[0])

    def mistake(self, mistake, call):
        return self._value(self.mistakes, (mistake.id, call.key), f"mistake {mistake.id}",
                           call.key[0])

    def finite_differences(self, of, wrt, eps, run):
        return self._value(self.differences, (of, wrt, eps, run.case.name),
                           f"the finite differences of {of}", run.case.name)

    def _value(self, table, key, what, case):
        entry = table.get(key)
        if entry is None:
            raise GradewiseError(f"the reference key {self.path.name} holds no value of {what} "
                                 f"for case {case!r}: it was made by another version of "
                                 "gradewise (ask your instructor for a new release)")
        if "raises" in entry:
            raised = entry["raises"]
            raise type(str(raised["type"]), (RecordedError,), {})(str(raised["message"]))
        return decode(entry["value"])
