# expect: SEC008
import shelve


def cached_results(path: str) -> dict:
    with shelve.open(path) as db:
        return dict(db)
