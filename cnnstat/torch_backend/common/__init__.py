"""What more than one job of :mod:`cnnstat.torch_backend` measures with, named so the contracts
can allow it: live measurements of a module per named submodule (:mod:`.measure`: output
shapes, parameter counts, FlopCounterMode and fvcore FLOPs) and out-of-memory told apart from
other failures (:mod:`.oom`).  Uses only :mod:`~cnnstat.torch_backend.build`'s level (nothing
of the other jobs)."""
