"""As the README says, in a fresh clone: `pip install -e .` (and `pip install .`), then the
notebook that `grade notebook 1` writes, filled in with the reference code, scores full marks
by `grade exercise --file`, by `grade batch` and by Gradescope's `run_autograder` — its
check cell included, whatever the sandbox can see of the installed package. A .py file that
calls `check(1)` itself does too.

To stay fast, the clone's virtual environment borrows this interpreter's packages (numpy,
IPython, ...) through a .pth file and gets only gradewise installed (`--no-deps`)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import REPO


def fresh_clone(tmp: Path) -> Path:
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=60)
    return clone


def install(clone: Path, venv: Path, editable: bool) -> Path:
    """A virtual environment with the clone installed; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True).stdout
    # a path in a .pth file is added as it is: its own .pth files (this environment's
    # editable gradewise) are not run, so `grader` can only come from the clone
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib.strip(), "_borrowed.pth").write_text("\n".join(sorted(ours)) + "\n")
    command = [str(python), "-m", "pip", "install", "--quiet", "--no-deps"]
    if _can_build_here():
        command.append("--no-build-isolation")
    command += ["-e", str(clone)] if editable else [str(clone)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"],
                           capture_output=True, text=True, check=True, cwd=venv).stdout
    assert Path(where.strip()).is_relative_to(clone if editable else venv), where
    return python


def _can_build_here() -> bool:
    """setuptools builds wheels by itself from 70.1 on, with the `wheel` package before."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def filled_notebook(python: Path, clone: Path, work: Path) -> Path:
    """`grade notebook 1`, then each stub cell replaced by the reference function, the
    reference module's helpers in the setup cell. The check cell stays."""
    env = clean_env()
    done = subprocess.run([str(python.parent / "grade"), "notebook", "1", "--out", str(work)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    path = work / "ex01_softmax.ipynb"
    nb = nbformat.read(path, as_version=4)
    reference = (clone / "solutions" / "ex01_softmax.py").read_text()
    functions = {node.name: ast.get_source_segment(reference, node)
                 for node in ast.parse(reference).body if isinstance(node, ast.FunctionDef)}
    for cell in nb.cells:
        if cell.get("id") == "ex01-setup":
            cell.source = reference  # imports and helpers
        elif cell.get("id", "").startswith("ex01-fn-"):
            cell.source = functions[cell.id[len("ex01-fn-"):]]
    assert nb.cells[-1].source == "from grader import check; check(1)"
    nbformat.write(nb, path)
    return path


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("GRADEWISE_") and k not in ("PYTHONPATH", "PYTHONHOME")}


def grade_everywhere(python: Path, notebook: Path, work: Path) -> dict:
    """The notebook's score by --file, by batch (with a .py calling check(1) beside it) and
    by run_autograder."""
    grade, env = str(python.parent / "grade"), clean_env()
    scores = {}
    done = subprocess.run([grade, "exercise", "1", "--file", str(notebook), "--json"], cwd=work,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    scores["--file"] = json.loads(done.stdout)["score"]

    subs = work / "subs"
    (subs / "nb").mkdir(parents=True)
    (subs / "nb" / notebook.name).write_bytes(notebook.read_bytes())
    (subs / "py").mkdir()
    reference = (work / "reference.py").read_text()
    (subs / "py" / "ex01_softmax.py").write_text(reference + "\nfrom grader import check\n"
                                                            "check(1)\n")
    done = subprocess.run([grade, "batch", str(subs), "--out", str(work / "out"), "--exercises",
                           "1", "--jobs", "2"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for student in ("nb", "py"):
        record = json.loads((work / "out" / "feedback" / f"{student}.json").read_text())
        scores[f"batch {student}"] = record["score"]

    done = subprocess.run([grade, "gradescope", "--out", str(work / "ag.zip"), "--exercises", "1"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    root = work / "autograder"
    with zipfile.ZipFile(work / "ag.zip") as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / notebook.name).write_bytes(notebook.read_bytes())
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=work,
                          env={**env, "GRADEWISE_AUTOGRADER_ROOT": str(root),
                               "GRADEWISE_PYTHON": str(python)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    scores["gradescope"] = results["score"]
    return scores


@pytest.mark.parametrize("editable", [True, False], ids=["pip install -e .", "pip install ."])
def test_the_generated_notebook_filled_in_scores_full_marks_everywhere(editable, tmp_path):
    clone = fresh_clone(tmp_path)
    python = install(clone, tmp_path / "venv", editable)
    work = tmp_path / "work"
    work.mkdir()
    (work / "reference.py").write_text((clone / "solutions" / "ex01_softmax.py").read_text())
    notebook = filled_notebook(python, clone, work)
    scores = grade_everywhere(python, notebook, work)
    assert scores == {"--file": 10, "batch nb": 10, "batch py": 10, "gradescope": 10}
