"""Building: an analysed spec as a real ``torch.nn.Module`` (:class:`SpecNet`), one builder per
layer kind (:mod:`.layers`), the small modules PyTorch lacks (:mod:`.modules`), layers written as
functional calls (:mod:`.functional`) and self-attention (:mod:`.attention`).

Every other subpackage of :mod:`cnnstat.torch_backend` builds with it; it uses none of them
(import-linter: "torch_backend: the subpackages are layered").  Public entry: :func:`build`
and :class:`SpecNet`.  Importing it imports torch.
"""

from cnnstat.torch_backend.build.net import SpecNet, build

__all__ = ["SpecNet", "build"]
