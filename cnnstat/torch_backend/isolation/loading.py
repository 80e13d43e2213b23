"""The user's module, loaded in the child process: a file or a dotted module imported, its
factory found, what the factory made checked to be a module.  The user's exceptions propagate
(the child reports them under the stage they happened in)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from torch import nn

from cnnstat.errors import UsageError
from cnnstat.torch_backend.isolation.parent import is_path


def import_owner(where: str) -> Any:
    """Import a file or a dotted module (the working directory is on ``sys.path``, as with
    ``python -m``); the user's exceptions propagate."""
    if not is_path(where):
        return importlib.import_module(where)
    path = Path(where)
    if not path.is_file():
        raise UsageError(f"--module: no such file: {where}")
    spec = importlib.util.spec_from_file_location(f"_cnnstat_impl_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"--module: cannot import {where}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def factory_of(owner: Any, where: str, attr: str, target: str) -> Any:
    factory = getattr(owner, attr, None)
    if not callable(factory):
        raise UsageError(f"--module {target!r}: {where} has no callable '{attr}'")
    return factory


def as_module(made: object, attr: str, target: str) -> nn.Module:
    if not isinstance(made, nn.Module):
        raise UsageError(f"--module {target!r}: {attr}() returned {type(made).__name__}, "
                         "not a torch.nn.Module")
    return made
