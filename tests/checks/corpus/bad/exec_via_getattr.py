# expect: SEC002
import builtins


def run_step(source: str) -> None:
    runner = getattr(builtins, "exec")
    runner(source)
