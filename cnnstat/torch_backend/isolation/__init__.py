"""The user's code at arm's length, shared by ``verify --module`` and ``cnnstat import`` (the one
named module through which the two jobs meet): the parent side (:mod:`.parent`: start the
child, feed it its request, capture its output, read its result), the child
(:mod:`.child`: import the user's module and run the task the parent named), the loading of the
user's module (:mod:`.loading`) and the guard against code that patches torch or cnnstat
(:mod:`.guard`).

Public entry: :func:`run_child`.  The parent side imports no torch.  The child imports the
task the parent names (``verify.module_task`` or ``importer.module_task``) by its module name,
so this package imports neither job.
"""

from cnnstat.torch_backend.isolation.parent import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    Captured,
    is_path,
    run_child,
    split_target,
)

__all__ = ["DEFAULT_MEMORY", "DEFAULT_TIMEOUT", "Captured", "is_path", "run_child", "split_target"]
