"""Reference solution of exercise 7 (backprop on f = (x + y)·max(y, z)) and its known
mistakes.

Inputs and outputs are Python floats. The graph, with the lecture's names:
a = x + y, b = max(y, z), f = a·b.
"""


def f_forward(x, y, z):
    return (x + y) * max(y, z)


def f_backward(x, y, z):
    # Written out node by node rather than through the gates, so that a wrong gate in a
    # validated mistake file is reported at the gate only: f_backward's own mistakes
    # (the product not switched, a path into y dropped) look exactly like some wrong gates.
    a, b = x + y, max(y, z)  # forward pass first: the backward pass needs a and b
    df_da, df_db = 1.0 * b, 1.0 * a  # × switches; ∂f/∂f = 1 starts the backward pass
    df_dx, df_dy_via_a = df_da, df_da  # + distributes
    df_dy_via_b, df_dz = (df_db, 0.0) if y >= z else (0.0, df_db)  # max routes, y on a tie
    return df_dx, df_dy_via_a + df_dy_via_b, df_dz  # y has two successors: the paths add


def add_backward(up):
    return up, up


def mul_backward(a, b, up):
    return up * b, up * a


def max_backward(a, b, up):
    return _route(a, b, up)


def _route(a, b, up):
    # mistakes below call this, never `max_backward`: a mistake replaces the gate when validated
    return (up, 0.0) if a >= b else (0.0, up)


# -- known mistakes -----------------------------------------------------------------------

def mistake_y_sum_path_only(x, y, z):
    a, b = x + y, max(y, z)
    return b, b, (a if z > y else 0.0)


def mistake_y_max_path_only(x, y, z):
    a, b = x + y, max(y, z)
    return b, (a if y >= z else 0.0), (a if z > y else 0.0)


def mistake_product_not_switched(x, y, z):
    a, b = x + y, max(y, z)
    df_da, df_db = a, b  # each factor's own value instead of the other one's
    return df_da, df_da + (df_db if y >= z else 0.0), (df_db if z > y else 0.0)


def mistake_f_tie_to_both(x, y, z):
    a, b = x + y, max(y, z)
    return b, b + (a if y >= b else 0.0), (a if z >= b else 0.0)


def mistake_distributor_halves(up):
    return up / 2, up / 2


def mistake_switcher_not_swapped(a, b, up):
    return up * a, up * b


def mistake_mul_ignores_upstream(a, b, up):
    return b, a


def mistake_router_to_smaller(a, b, up):
    return (up, 0.0) if a <= b else (0.0, up)


def mistake_max_distributes(a, b, up):
    return up, up


def mistake_tie_to_both(a, b, up):
    top = max(a, b)
    return (up if a >= top else 0.0), (up if b >= top else 0.0)


def mistake_tie_to_second_input(a, b, up):
    return (up, 0.0) if a > b else (0.0, up)


def mistake_tie_drops_gradient(a, b, up):
    return (up if a > b else 0.0), (up if b > a else 0.0)
