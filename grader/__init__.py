"""gradewise: auto-graded exercises for the matrix calculus of neural NLP (CS224N lecture 3)."""


def __getattr__(name: str):
    if name == "__version__":  # as installed (pyproject.toml): read only when asked for
        from importlib.metadata import version

        return version("gradewise")
    raise AttributeError(f"module 'grader' has no attribute {name!r}")


def check(exercise, workspace=None):
    """In a Jupyter notebook: grade exercise `exercise` (number or slug) on the functions the
    kernel defines now, in a separate process, and show the report. Returns the result
    (`check(1).score`), or None outside a notebook. `workspace`: where progress is kept
    (default: $GRADEWISE_WORKSPACE, else the notebook's folder if it is a workspace)."""
    from .kernel import check as check_in_kernel  # here: `import grader` stays cheap

    return check_in_kernel(exercise, workspace)
