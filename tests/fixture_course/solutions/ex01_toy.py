import numpy as np


def scale(x, k):
    return x * k


def total(x):
    return float(np.sum(x))


def mistake_forgot_k(x, k):
    return np.array(x, copy=True)
