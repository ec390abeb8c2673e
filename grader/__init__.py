"""gradewise: auto-graded exercises for the matrix calculus of neural NLP (CS224N lecture 3)."""

import sys

__version__ = "0.1.0"


def check(exercise, workspace=None):
    """In a Jupyter notebook: grade exercise `exercise` (number or slug) on the functions the
    kernel defines now, in a separate process, and show the report. Returns the result
    (`check(1).score`), or None outside a notebook. `workspace`: where progress is kept
    (default: $GRADEWISE_WORKSPACE, else the notebook's folder if it is a workspace)."""
    if _graded_now():
        return None  # a graded .py that calls check(N): nothing to do, nothing to import
    from .notebooks import check as check_in_kernel  # here: `import grader` stays cheap

    return check_in_kernel(exercise, workspace)


def _graded_now() -> bool:
    """True when the caller is a student's module run by the grader (some frame below it
    belongs to gradewise's sandbox): its own files may be out of reach there, so check()
    must import nothing. In a kernel or a plain `python` run, no grader frame is below."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if isinstance(module, str) and module.startswith("grader."):
            return True
        frame = frame.f_back
    return False
