"""cnnstat: exact shapes, parameters, MACs, memory and receptive fields of CNN specs."""

__version__ = "0.1.0"
