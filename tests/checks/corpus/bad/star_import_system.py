# expect: SEC005
from os import *  # noqa: F403


def cleanup(directory: str) -> None:
    system("rm -rf " + directory)  # noqa: F405
