# expect: PRA003
import json


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except:
        pass
    return {}
