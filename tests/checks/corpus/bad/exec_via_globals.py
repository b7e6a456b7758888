# expect: SEC002
def load_plugin(code: str) -> None:
    globals()["__builtins__"]["exec"](code)
