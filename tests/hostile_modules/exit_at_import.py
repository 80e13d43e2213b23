import sys

sys.exit(0)


def make():
    raise AssertionError("never called")
