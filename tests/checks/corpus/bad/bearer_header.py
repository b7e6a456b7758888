# expect: SEC104
import os

import requests


def fetch_rates() -> dict:
    headers = {"Authorization": "Bearer 4c1d7e0a9b2f4e6d8a3c5b7e9f1a2c4d"}
    return requests.get(os.environ["RATES_URL"], headers=headers, timeout=10).json()
