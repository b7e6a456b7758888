# expect: CFG003
import pandas as pd


def load() -> pd.DataFrame:
    return pd.read_csv("/data/sales.csv")
