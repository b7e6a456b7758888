# expect: SEC013
import os
import ssl
import urllib.request


def fetch() -> bytes:
    context = ssl._create_unverified_context()
    with urllib.request.urlopen(os.environ["DATA_URL"], context=context) as response:
        return response.read()
