"""scriptexec: YAML task specs in, tested and containerised Python programs out."""

__version__ = "0.1.0"
