# expect: SEC005
from os import system as run_shell


def backup(directory: str) -> int:
    return run_shell("tar czf backup.tgz " + directory)
