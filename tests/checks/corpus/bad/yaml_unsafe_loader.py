# expect: SEC007
import yaml


def read_rules(text: str) -> list:
    return yaml.load(text, Loader=yaml.Loader)
