# expect: SEC004
def load_reader(fmt: str):
    module = __import__(f"readers.{fmt}_reader")
    return module.read
