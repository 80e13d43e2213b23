def make():
    answer = input("which network? ")
    raise AssertionError(f"stdin should be empty, got {answer!r}")
