"""What more than one job of :mod:`cnnstat.torch_backend` measures with, named so the contracts
can allow it: live measurements of a module per named submodule (:mod:`.measure`: output
shapes, parameter counts, FlopCounterMode and fvcore FLOPs), out-of-memory told apart from
other failures (:mod:`.oom`), the census of a forward pass's aten operations (:mod:`.census`)
and what each spec kind runs (:mod:`.operations`: no torch, for the judging parent), and which
entry of a table by module type a module is (:mod:`.module_types`).  Uses only :mod:`~cnnstat.torch_backend.build`'s level (nothing
of the other jobs)."""
