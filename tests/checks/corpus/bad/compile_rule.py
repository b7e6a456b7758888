# expect: SEC003
def make_rule(expression: str):
    code = compile(expression, "<rule>", "eval")
    return lambda row: code
