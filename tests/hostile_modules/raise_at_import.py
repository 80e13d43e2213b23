raise RuntimeError("configuration file not found")


def make():
    raise AssertionError("never called")
