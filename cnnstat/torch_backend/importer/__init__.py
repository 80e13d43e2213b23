"""``cnnstat import``: a PyTorch module as a readable spec, proven against the module.  The
child side traces (:mod:`.module_task`, :mod:`.tracing`, :mod:`.meta_run`, the one table of
:mod:`.mapping`, the fused :mod:`.l2norm_pattern`); the parent side reduces the trace to
composites (:mod:`.graph`), names them and folds repeats into blocks (:mod:`.writer`,
:mod:`.blocks`), writes YAML (:mod:`.yaml_text`) and proves the result (:mod:`.run`).

Public entry: :func:`run_import` (with :class:`Imported` and :class:`Failed`).  Importing the
package imports no torch.
"""

from cnnstat.torch_backend.importer.run import Failed, Imported, run_import

__all__ = ["Failed", "Imported", "run_import"]
