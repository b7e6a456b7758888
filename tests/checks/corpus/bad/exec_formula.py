# expect: SEC002
def apply_formula(row: dict[str, float], formula: str) -> float:
    scope = dict(row)
    exec(f"result = {formula}", {}, scope)
    return float(scope["result"])
