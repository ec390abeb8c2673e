"""The course (exercises/, solutions/) as bundled in a built wheel; see grader.course."""
