"""Progress bars for long loops: tqdm to stderr (myst-nb removes stderr from the book's pages, and
nbval-checked cells never print it), silenced with ``COMPANION_PROGRESS=0``.

Its own module, at the bottom of the package, so that data loaders report progress without
importing the training loop.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable

from tqdm import tqdm


def progress(iterable: Iterable, **kw) -> Iterable:
    """``tqdm(iterable, **kw)`` on stderr; ``disable=True`` or ``COMPANION_PROGRESS=0`` silences
    it."""
    disable = bool(kw.pop("disable", False)) or os.environ.get("COMPANION_PROGRESS", "1") == "0"
    return tqdm(iterable, file=sys.stderr, disable=disable, mininterval=1.0, **kw)
