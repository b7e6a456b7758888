# expect: SEC008
import os

import numpy as np


def load_matrix() -> object:
    return np.load(os.environ["MATRIX"], allow_pickle=True)
