# expect: SEC013
import os

import requests


def download() -> bytes:
    return requests.get(os.environ["DATA_URL"], verify=False, timeout=30).content
