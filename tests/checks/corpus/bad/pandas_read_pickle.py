# expect: SEC008
import os

import pandas as pd


def load_frame() -> pd.DataFrame:
    return pd.read_pickle(os.environ["FRAME_PATH"])
