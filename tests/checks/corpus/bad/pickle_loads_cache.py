# expect: SEC008
import pickle
from pathlib import Path


def load_cache(path: Path) -> dict:
    return pickle.loads(path.read_bytes())
