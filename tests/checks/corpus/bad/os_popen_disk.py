# expect: SEC005
import os


def free_space() -> str:
    return os.popen("df -h /data").read()
