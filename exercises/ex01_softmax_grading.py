"""Exercise 1 (softmax): what its checks need that gives no answer away (public: a student
release carries it). The reference solution and the known mistakes are in solutions/."""

import numpy as np


# -- properties -------------------------------------------------------------------------

def rows_are_distributions(P, **inputs):
    P = np.asarray(P, dtype=np.float64)
    if not np.all(np.isfinite(P)):
        return False, "the output contains NaN or inf"
    if np.any(P < 0):
        return False, "some probabilities are negative"
    sums = P.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-9):
        return False, f"the rows sum to {np.round(sums, 4).tolist()} instead of 1"
    return True, ""
