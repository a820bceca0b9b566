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

# %% [markdown]
# # Reproduction scorecard
#
# Every comparison of one of our numbers with a number printed in a paper that a chapter of this
# build made, collected automatically: each chapter's ours-vs-reported table records its rows when
# the pipeline executes it, and this page, executed last, gathers them. The paper's values and their
# sources live in one place, `companion/reported/`, each with the tolerance within which a FULL-profile
# reproduction counts as matching.
#
# In the QUICK profile the chapters run smaller analogues (embedded data, small networks, a CPU):
# their rows are shown for orientation and are **not** judged against the paper. Build with
# `PROFILE=full` on a GPU to fill the "within tolerance" column.

# %%
import pandas as pd

from companion import config, report
from companion.reported import all_reported

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""

# %%
ctx = config.resolve(PROFILE, SEED, DEVICE, DATA_ROOT)
print(report.banner(ctx))
rows = report.scorecard()
quoted = all_reported()
print(f"{len(rows)} comparisons recorded by {rows['notebook'].nunique() if len(rows) else 0} chapters; "
      f"{len(quoted)} numbers quoted from the papers")

# %% [markdown]
# ## By paper

# %%
PAPERS = {"xs": "Xu & Strohmer", "jit": "Foster et al.", "cert": "Koloskova et al."}
used = set(rows["key"].dropna()) if len(rows) else set()
summary = []
for key, name in PAPERS.items():
    mine = rows[rows["key"].fillna("").str.startswith(key + ":")] if len(rows) else rows
    full = mine[~mine["quick"]] if len(mine) else mine
    summary.append({"paper": name, "numbers quoted": sum(k.startswith(key + ":") for k in quoted),
                    "compared in a chapter": len({k for k in used if k.startswith(key + ":")}),
                    "rows (QUICK analogue)": int(mine["quick"].sum()) if len(mine) else 0,
                    "rows judged (FULL or exact)": len(full),
                    "within tolerance": int(full["match"].astype(bool).sum()) if len(full) else 0})
summary = pd.DataFrame(summary).set_index("paper")
report.glue("scorecard_summary", summary)
report.glue("scorecard_n_rows", len(rows))

# %% [markdown]
# ```{glue:} scorecard_summary
# ```
#
# "Rows judged" are comparisons made outside the QUICK analogue: FULL-profile runs, and exact
# quantities that do not depend on the profile (an accountant's $T$ and $\sigma$, a closed form).
# Their "within tolerance" count is the reproduction score.
#
# ## Every comparison ({glue:}`scorecard_n_rows` rows)

# %%
def status(r) -> str:
    if r["quick"]:
        return "QUICK analogue"
    return "within tolerance" if r["match"] else "differs"


if len(rows):
    table = rows.assign(status=rows.apply(status, axis=1))[["notebook", "quantity", "ours_text", "paper_text", "status", "source"]]
    table = table.rename(columns={"ours_text": "ours", "paper_text": "paper"}).set_index(["notebook", "quantity"])
else:
    table = pd.DataFrame(columns=["ours", "paper", "status", "source"])
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
missing = pd.DataFrame([{"key": k, "value": r.value, "source": r.source} for k, r in sorted(quoted.items()) if k not in used])
report.glue("scorecard_missing", missing.set_index("key") if len(missing) else missing)
report.glue("scorecard_n_missing", len(missing))

# %% [markdown]
# {glue:}`scorecard_n_missing` numbers are quoted but not compared in this build:
#
# ```{glue:} scorecard_missing
# ```
