"""Numbers quoted from Koloskova et al. (arXiv 2506.06985, ICML 2025) (see companion.reported)."""

from . import Reported

REPORTED: dict[str, Reported] = {}
