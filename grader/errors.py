"""The one exception family for errors a user can cause (bad spec, missing file, ...).

The CLI prints these as a single line without a traceback; anything else is a bug in the
grader and keeps its traceback.
"""


class GradewiseError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do."""


class SpecError(GradewiseError):
    """An exercise spec is invalid: `path:line: field: what was expected`."""

    def __init__(self, path, line, field, problem):
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")
