# expect: SEC012
import tempfile


def scratch_file() -> str:
    return tempfile.mktemp(suffix=".csv")
