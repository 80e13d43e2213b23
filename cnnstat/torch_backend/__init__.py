"""Spec -> torch.nn.Module, live cross-checks and benchmarks: the only package that imports torch.

Importing this package does not import torch; its modules do.  Callers that may run without the
``cnnstat[torch]`` extra call :func:`require` first, which turns the ImportError into a
:class:`~cnnstat.errors.UsageError` carrying the install hint (exit code 2 in the CLI).
"""

from __future__ import annotations

import importlib
import importlib.util

INSTALL_HINT = "pip install 'cnnstat[torch]'"
#: what installs a module that is in no extra of cnnstat's: the other tools whose counters the
#: --count presets reproduce, run live by ``verify --count TOOL`` (the versions the test suite
#: pins are in tests/constraints.txt)
TOOL_PACKAGES = {"thop": "ultralytics-thop", "torchinfo": "torchinfo", "ptflops": "ptflops",
                 "torchscan": "torchscan", "calflops": "calflops", "deepspeed": "deepspeed"}


def install_hint(module: str) -> str:
    """The exact command that installs ``module``: an extra of cnnstat's, or the tool's
    package."""
    if module in TOOL_PACKAGES:
        return f"pip install {TOOL_PACKAGES[module]}"
    return f"{INSTALL_HINT} (torch and fvcore; 'cnnstat[all]' adds graph and plot too)"


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
            what = ("its counter is run live" if name in TOOL_PACKAGES
                    else "it is needed to build and count networks live")
            raise UsageError(f"{name} is not installed; {what}", install_hint(name)) from None
