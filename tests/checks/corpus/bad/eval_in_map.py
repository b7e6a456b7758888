# expect: SEC001
def parse_amounts(lines: list[str]) -> list[float]:
    # each line holds an arithmetic expression such as "1200*12"
    return list(map(eval, lines))
