# expect: SEC104
import os

API_TOKEN = os.getenv("API_TOKEN", "dev-3f9a1c77b2")
