# expect: CFG004
import requests


def rates() -> dict:
    return requests.get("https://api.exchange.example.com/v1/latest", timeout=10).json()
