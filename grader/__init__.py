"""gradewise: auto-graded exercises for the matrix calculus of neural NLP (CS224N lecture 3)."""

__version__ = "0.1.0"
