"""Numbers quoted from Foster et al. (arXiv 2402.01401, TMLR 2025) (see companion.reported)."""

from . import Reported

REPORTED: dict[str, Reported] = {}
