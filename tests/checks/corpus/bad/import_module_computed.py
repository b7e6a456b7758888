# expect: SEC004
import importlib
import os


def plugin():
    return importlib.import_module(os.environ["PLUGIN"])
