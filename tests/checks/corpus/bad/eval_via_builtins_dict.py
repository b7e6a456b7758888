# expect: SEC001
def calculate(expression: str) -> float:
    evaluate = __builtins__.__dict__["ev" + "al"]
    return float(evaluate(expression))
