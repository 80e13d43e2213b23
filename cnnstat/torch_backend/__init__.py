"""Spec -> torch.nn.Module, live cross-checks and benchmarks: the only package that imports torch.

Importing this package does not import torch; its modules do.  Callers that may run without the
``cnnstat[torch]`` extra call :func:`require` first, which turns the ImportError into a
:class:`~cnnstat.errors.UsageError` carrying the install hint (exit code 2 in the CLI).
"""

from __future__ import annotations

import importlib

INSTALL_HINT = "pip install 'cnnstat[torch]'"


def require(*modules: str) -> None:
    """Import ``modules`` (default: torch); a UsageError with the install hint if one is missing."""
    from cnnstat.errors import UsageError

    for name in modules or ("torch",):
        try:
            importlib.import_module(name)
        except ImportError:
            raise UsageError(f"{name} is not installed; it is needed to build and count networks "
                             "live",
                             INSTALL_HINT) from None
