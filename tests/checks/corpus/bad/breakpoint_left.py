# expect: SEC010
def compute(rows: list[dict]) -> float:
    total = 0.0
    for row in rows:
        breakpoint()
        total += row["amount"]
    return total
