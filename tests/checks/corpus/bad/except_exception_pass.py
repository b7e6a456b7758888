# expect: PRA003
def to_number(text: str) -> float:
    value = 0.0
    try:
        value = float(text)
    except Exception:
        pass
    return value
