"""Numbers quoted from Xu & Strohmer (arXiv 2502.05684) (see companion.reported)."""

from . import Reported

REPORTED: dict[str, Reported] = {}
