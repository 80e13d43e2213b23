"""Spec -> torch.nn.Module, live cross-checks and benchmarks: the only package that imports torch."""
