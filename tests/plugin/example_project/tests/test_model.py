import numpy as np

import gradtest


@gradtest.gradcheck(wrt="w", w=np.array([0.5, -1.0, 2.0]))
def test_quartic(w):
    return float(np.sum(w**4)), 4 * w**3


def test_sine_with_fixture(gradcheck):
    gradcheck(lambda w: float(np.sum(np.sin(w))), np.cos, np.linspace(0.1, 1.0, 4))
