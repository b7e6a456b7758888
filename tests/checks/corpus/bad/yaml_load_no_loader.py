# expect: SEC007
import yaml


def read_config(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle)
