# expect: SEC005
import os as operating_system

shell = operating_system.system


def notify(user: str) -> None:
    shell("mail -s done " + user)
