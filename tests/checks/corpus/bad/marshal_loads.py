# expect: SEC008
import marshal


def load_compiled(blob: bytes) -> object:
    return marshal.loads(blob)
