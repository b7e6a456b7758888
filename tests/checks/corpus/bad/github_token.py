# expect: SEC103
import requests

HEADERS = {"Accept": "application/vnd.github+json"}


def open_issues(repo: str) -> list:
    token = "ghp_8fJ2kL9mN3pQ7rS1tU5vW0xY4zA6bC2dE8fG"
    headers = {**HEADERS, "X-Token": token}
    url = f"https://api.github.com/repos/{repo}/issues"
    return requests.get(url, headers=headers, timeout=10).json()
