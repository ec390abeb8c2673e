"""Exercise 2 (cross-entropy): what its checks need that gives no answer away (public: a
student release carries it). The reference solution and the known mistakes are in
solutions/."""

import numpy as np


# -- case generators ----------------------------------------------------------------------

def dense_distributions(rng, C):
    """Two distributions over C classes with every probability positive."""
    return {"p": rng.dirichlet(np.ones(C)), "q": rng.dirichlet(np.ones(C))}


def onehot_target(rng, C):
    """p is the one-hot distribution of a true class, q a dense prediction."""
    p = np.zeros(C)
    p[rng.integers(C)] = 1.0
    return {"p": p, "q": rng.dirichlet(np.ones(C))}
