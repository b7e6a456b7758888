# expect: SEC005
from subprocess import getoutput


def git_version() -> str:
    return getoutput("git describe --tags")
