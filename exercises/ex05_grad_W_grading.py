"""Exercise 5 (∂s/∂W and friends): what its checks need that gives no answer away (public:
a student release carries it). The reference solution, the score its gradient checks
differentiate and the known mistakes are in solutions/."""

import numpy as np


# -- properties -------------------------------------------------------------------------------

def grads_follow_shape_convention(got, x, W, b, u, **_):
    """The dict holds a gradient for each of W, b, u, x, each with its parameter's shape."""
    params = {"W": W, "b": b, "u": u, "x": x}
    if not isinstance(got, dict):
        return False, "the second item must be a dict {'W': ..., 'b': ..., 'u': ..., 'x': ...}"
    missing = [k for k in params if k not in got]
    if missing:
        return False, (f"the dict has keys {sorted(got)}; it needs one gradient per parameter, "
                       f"keys 'W', 'b', 'u', 'x' (missing {missing})")
    for key, param in params.items():
        shape = np.shape(got[key])
        if shape != param.shape:
            return False, (f"grads[{key!r}] has shape {shape}, but {key} has shape {param.shape}: "
                           "by the shape convention a gradient has the shape of its parameter")
    return True, ""
