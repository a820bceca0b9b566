# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["remove-cell"]
# Colab or Binder: install the companion before anything else (a no-op wherever it is importable).
# The published copy of this notebook names the repository and commit the book was built from.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("companion") is None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "companion @ @COMPANION_SOURCE@"],
        check=True,
    )
    importlib.invalidate_caches()

# %% [markdown]
# # Reproduction scorecard
#
# Every comparison of one of our numbers with a number printed in a paper that a chapter of this
# build made, collected automatically: each chapter's ours-vs-reported table records its rows when
# the pipeline executes it, and this page, executed last, gathers them. The paper's values and their
# sources live in one place, `companion/reported/`, each with the tolerance within which a
# reproduction counts as matching and the **setting** it was produced in: dataset, architecture,
# variant of the method (as the paper writes it, or as its code runs it), forget set and scale.
#
# A row is **judged** only like with like: when our setting agrees with the paper's in every field
# the paper's number depends on. Otherwise the row is shown as *not comparable*, with the reason
# (for example "ours vgg11, paper vit_b16", or "variant: ours paper, paper as_coded" where the
# paper's table comes from its code's variant). In the QUICK profile the chapters run smaller
# analogues (embedded data, small networks, a CPU): their rows are shown for orientation and are
# **never** judged. Quantities that do not depend on the scale (an accountant's $T$ and $\sigma$, a
# closed form) are judged in any profile. Measured rows are judged at the paper's scale from the
# committed FULL records (`results/full/`, written by `make reproduce`), listed at the end of this
# page.
#
# Tolerances are chosen to separate the rows of a table they are meant to separate: no other row of
# the same table and column falls inside a row's tolerance, except rows the paper prints at one
# level (each such group is declared, with the reason, next to the numbers; a test checks this).

# %%
from pathlib import Path

import pandas as pd

from companion import config, paper_scale, report
from companion.reported import QUICK_REASON, Setting, all_reported

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""

# %%
ctx = config.resolve(PROFILE, SEED, DEVICE, DATA_ROOT)
print(report.banner(ctx))
rows = paper_scale.scorecard_rows()
records = paper_scale.full_records()
quoted = all_reported()
PAPERS = {"xs": "Xu & Strohmer", "jit": "Foster et al.", "cert": "Koloskova et al."}

# %% [markdown]
# ## The numbers quoted
#
# Per paper, how many numbers `companion/reported/` quotes, how many of them are exact (judged in
# any profile) and how many are measured at the paper's scale (judged only against a FULL run in the
# same setting), and how many come from the paper's code as run ("as coded").

# %% tags=["nbval-check-output"]
quoted_summary = pd.DataFrame(
    [
        {
            "paper": name,
            "numbers quoted": sum(k.startswith(key + ":") for k in quoted),
            "exact": sum(
                k.startswith(key + ":") and r.setting.scale == "exact" for k, r in quoted.items()
            ),
            "measured at the paper's scale": sum(
                k.startswith(key + ":") and r.setting.scale == "full" for k, r in quoted.items()
            ),
            "as coded": sum(
                k.startswith(key + ":") and r.setting.variant == "as_coded"
                for k, r in quoted.items()
            ),
        }
        for key, name in PAPERS.items()
    ]
).set_index("paper")
report.glue("scorecard_quoted", quoted_summary)
print(quoted_summary.to_string())


# %% [markdown]
# ## By paper


# %%
def status(r) -> str:
    """The row's status: within / outside tolerance, not comparable (with the reason), QUICK
    analogue.

    Records written before settings were recorded carry no status: a judged one is read from its
    match, an unjudged FULL one counts as not comparable (its setting was not recorded).
    """
    s = r.get("status")
    if isinstance(s, str) and s:
        return s
    if r["quick"]:
        return QUICK_REASON
    if r["match"] is None or r["match"] != r["match"]:
        return "not comparable: setting not recorded"
    return "within tolerance" if r["match"] else "outside tolerance"


def kind(s: str) -> str:
    if s.startswith("not comparable"):
        return "not comparable"
    return (
        "QUICK analogue"
        if s == QUICK_REASON
        else ("no record" if s == paper_scale.NO_RECORD else s)
    )


def describe(d) -> str:
    return Setting(**d).describe() if isinstance(d, dict) else "—"


if len(rows):
    rows = rows.assign(status=rows.apply(status, axis=1))
    rows = rows.assign(kind=rows["status"].map(kind))
used = set(rows["key"].dropna()) if len(rows) else set()
summary = []
for key, name in PAPERS.items():
    mine = (
        rows[rows["key"].fillna("").str.startswith(key + ":")]
        if len(rows)
        else pd.DataFrame(columns=["kind"])
    )
    n = mine["kind"].value_counts()
    judged = int(n.get("within tolerance", 0) + n.get("outside tolerance", 0))
    full = mine[mine["profile"] == "FULL"] if len(mine) else mine
    nf = full["kind"].value_counts() if len(full) else pd.Series(dtype=int)
    summary.append(
        {
            "paper": name,
            "compared in a chapter": len({k for k in used if k.startswith(key + ":")}),
            "rows": len(mine),
            "QUICK analogue": int(n.get("QUICK analogue", 0)),
            "not comparable": int(n.get("not comparable", 0)),
            "judged": judged,
            "within tolerance": int(n.get("within tolerance", 0)),
            "outside tolerance": int(n.get("outside tolerance", 0)),
            "judged at the paper's scale": int(
                nf.get("within tolerance", 0) + nf.get("outside tolerance", 0)
            ),
            "within tolerance at the paper's scale": int(nf.get("within tolerance", 0)),
        }
    )
summary = pd.DataFrame(summary).set_index("paper")
for key, name in PAPERS.items():
    report.glue(f"scorecard_{key}_judged", int(summary.loc[name, "judged"]))
    report.glue(f"scorecard_{key}_within", int(summary.loc[name, "within tolerance"]))
    report.glue(f"scorecard_{key}_rows", int(summary.loc[name, "rows"]))
    report.glue(
        f"scorecard_{key}_full_judged", int(summary.loc[name, "judged at the paper's scale"])
    )
    report.glue(
        f"scorecard_{key}_full_within",
        int(summary.loc[name, "within tolerance at the paper's scale"]),
    )
report.glue("scorecard_summary", summary)
report.glue("scorecard_n_rows", len(rows))
report.glue("scorecard_n_records", len(records))
report.glue("scorecard_full_judged", int(summary["judged at the paper's scale"].sum()))
report.glue("scorecard_full_within", int(summary["within tolerance at the paper's scale"].sum()))
report.glue("scorecard_no_record", int((rows["kind"] == "no record").sum()) if len(rows) else 0)
records_table = pd.DataFrame(
    [
        {
            "record": f"full/{Path(rec['notebook']).parent.name}/{Path(rec['notebook']).stem}.json",
            "provenance": paper_scale.provenance_line(rec),
        }
        for _, rec in records
    ],
    columns=["record", "provenance"],
).set_index("record")
report.glue("scorecard_records", records_table)
print(
    f"{len(rows)} comparisons recorded by {rows['notebook'].nunique() if len(rows) else 0} "
    f"chapters; "
    f"{len(quoted)} numbers quoted from the papers"
)
summary

# %% [markdown]
# ```{glue:} scorecard_summary
# ```
#
# Per paper, in this build:
#
# - Xu & Strohmer: {glue:}`scorecard_xs_judged` of {glue:}`scorecard_xs_rows` rows judged,
#   {glue:}`scorecard_xs_within` within tolerance;
# - Foster et al.: {glue:}`scorecard_jit_judged` of {glue:}`scorecard_jit_rows` rows judged,
#   {glue:}`scorecard_jit_within` within tolerance;
# - Koloskova et al.: {glue:}`scorecard_cert_judged` of {glue:}`scorecard_cert_rows` rows judged,
#   {glue:}`scorecard_cert_within` within tolerance.
#
# At the paper's scale, from the {glue:}`scorecard_n_records` committed FULL records:
# {glue:}`scorecard_full_judged` rows judged, {glue:}`scorecard_full_within` within tolerance (Xu &
# Strohmer {glue:}`scorecard_xs_full_judged` judged, {glue:}`scorecard_xs_full_within` within;
# Foster et al. {glue:}`scorecard_jit_full_judged` judged, {glue:}`scorecard_jit_full_within`
# within; Koloskova et al. {glue:}`scorecard_cert_full_judged` judged,
# {glue:}`scorecard_cert_full_within` within). {glue:}`scorecard_no_record` FULL rows of this build
# have no record and are not judged.
#
# ```{glue:} scorecard_records
# ```
#
# "Judged" rows are comparisons in the same setting as the paper's number: recorded FULL runs whose
# dataset, architecture, variant and forget set agree, and exact quantities that do not depend on
# the profile. Their "within tolerance" count is the reproduction score. "Not comparable" rows were
# run at the paper's scale but in another setting; "QUICK analogue" rows are smaller stand-ins.
#
# ## Every comparison ({glue:}`scorecard_n_rows` rows)

# %%
if len(rows):
    table = rows.assign(
        ours_setting=rows["setting"].map(describe) if "setting" in rows else "—",
        paper_setting=rows["paper_setting"].map(describe) if "paper_setting" in rows else "—",
    )
    table = table[
        [
            "notebook",
            "profile",
            "quantity",
            "ours_text",
            "paper_text",
            "status",
            "ours_setting",
            "paper_setting",
            "source",
        ]
    ]
    table = table.rename(
        columns={
            "ours_text": "ours",
            "paper_text": "paper",
            "ours_setting": "our setting",
            "paper_setting": "paper's setting",
        }
    ).set_index(["notebook", "profile", "quantity"])
else:
    table = pd.DataFrame(
        columns=["ours", "paper", "status", "our setting", "paper's setting", "source"]
    )
report.glue("scorecard_table", table)

# %% [markdown]
# ```{glue:} scorecard_table
# ```
#
# ## Numbers quoted but not yet compared
#
# Numbers from the papers that `companion/reported/` holds but that no chapter of this build set
# beside one of ours (for example FULL-only tables when the build is QUICK).

# %%
missing = pd.DataFrame(
    [
        {"key": k, "value": r.value, "setting": r.setting.describe(), "source": r.source}
        for k, r in sorted(quoted.items())
        if k not in used
    ]
)
report.glue("scorecard_missing", missing.set_index("key") if len(missing) else missing)
report.glue("scorecard_n_missing", len(missing))

# %% [markdown]
# {glue:}`scorecard_n_missing` numbers are quoted but not compared in this build:
#
# ```{glue:} scorecard_missing
# ```

# %% [markdown]
# ## Measured on a GPU
#
# Timings from the lent GPU sessions (`results/gpu/*.jsonl`: stages of
# `benchmarks/gpu_full_mnist.py` on FULL MNIST, whole FULL chapters, `benchmarks/gpu_ensemble.py`):
# {glue:}`scorecard_n_gpu` lines. They are timings, not records: no chapter's values come from them
# (the status page says what ran there and what did not).

# %%
gpu = paper_scale.gpu_measurements()
report.glue("scorecard_n_gpu", len(gpu))
gpu_table = gpu.set_index(["device", "stage"])[["seconds", "torch"]] if len(gpu) else gpu

# %% tags=["nbval-check-output"]
gpu_table
