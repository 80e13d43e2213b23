import sys


def make():
    sys.exit(0)
