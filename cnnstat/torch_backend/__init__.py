"""Spec -> torch.nn.Module, live cross-checks and benchmarks: the only package that imports torch.

Importing this package does not import torch; its modules do.  Callers that may run without the
``cnnstat[torch]`` extra call :func:`require` first, which turns the ImportError into a
:class:`~cnnstat.errors.UsageError` carrying the install hint (exit code 2 in the CLI).
"""

from __future__ import annotations

import importlib
import importlib.util

INSTALL_HINT = "pip install 'cnnstat[torch]'"


def require(*modules: str, load: bool = True) -> None:
    """Import ``modules`` (default: torch); a UsageError with the install hint if one is missing.
    With ``load=False`` only check that they are installed (``verify --module`` imports torch in
    its child process, not here)."""
    from cnnstat.errors import UsageError

    for name in modules or ("torch",):
        try:
            if load:
                importlib.import_module(name)
            elif importlib.util.find_spec(name) is None:
                raise ImportError(name)
        except (ImportError, ValueError):
            raise UsageError(f"{name} is not installed; it is needed to build and count networks "
                             "live",
                             INSTALL_HINT) from None
