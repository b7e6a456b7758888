# expect: SEC006
import subprocess as sp


def row_count(path: str) -> int:
    out = sp.check_output("wc -l " + path, shell=True)
    return int(out.split()[0])
