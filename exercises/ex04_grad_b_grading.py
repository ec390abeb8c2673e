"""Exercise 4 (∂s/∂b): what its checks need that gives no answer away (public: a student
release carries it). The reference solution, the score its gradient check differentiates
and the known mistakes are in solutions/."""

import numpy as np


# -- properties -------------------------------------------------------------------------------

def chain_product_is_grad_b(got, x, W, b, u, expected, **_):
    """∂s/∂h · ∂h/∂z · ∂z/∂b must be ∂s/∂b in Jacobian form: the (1, n) row uᵀ diag(f′(z)).

    `expected`: the reference's three factors on this case (the property kind gives them),
    so that nothing here computes an answer."""
    n = len(b)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return False, "expected the three factors (∂s/∂h, ∂h/∂z, ∂z/∂b) as a tuple"
    factors = [np.asarray(f, dtype=np.float64) for f in got]
    shapes = " · ".join(str(f.shape) for f in factors)
    if any(f.ndim != 2 for f in factors):
        return False, (f"the factors have shapes {shapes}: every Jacobian of the chain rule is a "
                       f"matrix, here (1, {n}) · ({n}, {n}) · ({n}, {n})")
    try:
        product = factors[0] @ factors[1] @ factors[2]
    except ValueError:
        return False, (f"the factors of shapes {shapes} cannot be multiplied: the chain rule "
                       f"multiplies Jacobians (1, {n}) · ({n}, {n}) · ({n}, {n})")
    references = [np.asarray(f, dtype=np.float64) for f in expected]
    wanted = references[0] @ references[1] @ references[2]
    if product.shape == wanted.shape and np.allclose(product, wanted, rtol=1e-9, atol=1e-12):
        return True, ""
    wrong = [name for name, f, ref in zip(("∂s/∂h", "∂h/∂z", "∂z/∂b"), factors, references)
             if f.shape != ref.shape or not np.allclose(f, ref, rtol=1e-9, atol=1e-12)]
    culprits = f" (wrong: {', '.join(wrong)} — see their own checks)" if wrong else ""
    if product.shape != wanted.shape:
        return False, (f"the product ∂s/∂h · ∂h/∂z · ∂z/∂b has shape {product.shape}; ∂s/∂b in "
                       f"Jacobian form is (1, {n}){culprits}")
    return False, f"the product ∂s/∂h · ∂h/∂z · ∂z/∂b is not uᵀ diag(f′(z)) = ∂s/∂b{culprits}"
