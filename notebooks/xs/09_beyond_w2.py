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
# # Beyond two groups and beyond W2
#
# Xu and Strohmer {cite}`xu2025machine` close their feature-unlearning part with an open question:
# *can this be extended beyond $W_2$ to task-aligned costs and multi-marginal barycenters?* Their
# tabular experiments binarise the sensitive attribute (race becomes White against non-White,
# chapter 2), and their cost is the plain squared distance, which treats a feature the label
# depends on like one it ignores. This chapter builds both extensions on Adult, whose race column
# has five groups, and measures whether either buys a better trade-off between what the repaired
# features still say about the label (utility) and what they still say about race (leakage).
#
# **This page answers**
# - whether the barycenter theorem ({prf:ref}`xs-thm-barycenter`) and its Gaussian closed form
#   ({prf:ref}`xs-prop-gaussian`) carry over to all five groups at once (they do; checked against
#   POT);
# - how to transport under a task-aligned Mahalanobis cost $(x-y)^\top M(x-y)$, with $M$ weighting
#   features by their relevance to the label: a proposition with proof
#   ({prf:ref}`xs-prop-mahalanobis`), checked against POT's exact plans and its free-support
#   barycenter;
# - the utility-leakage frontier along the McCann path of three repairs: the paper's two-group
#   $L^2$ barycenter (race binarised), the five-group $L^2$ barycenter, and the five-group
#   Mahalanobis barycenter, with leakage always measured against **all five** groups.

# %%
import matplotlib.pyplot as plt
import numpy as np
import ot
import pandas as pd

from companion import config, plotting, report
from companion.data import tabular
from companion.experiments import xs_multigroup as xm
from companion.theory import multi_marginal as mm

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
TASK_METRIC = "logistic"

# %%
ctx = config.resolve(PROFILE, SEED, DEVICE, DATA_ROOT, TASK_METRIC=TASK_METRIC)
print(report.banner(ctx))
setting = xm.MultiGroupSetting.for_profile(ctx.profile, metric=TASK_METRIC)
print(setting)

# %% [markdown]
# ## The data: five groups, two of them tiny
#
# Adult is rebuilt from the raw UCI file as in chapter 2 ({ref}`xs-adult-data`): age decade and
# years of education, one-hot (16 columns), $Y$ = income above 50K, and now $Z$ = the five UCI race
# values. FULL uses all rows, 11 values of $t$ and 5 folds; QUICK, the page as built here, uses a
# seeded stratified subsample and fewer points on the path (settings printed above), a smaller
# analogue of the same protocol on the same embedded table.

# %%
data = tabular.adult("race", race="multi")
counts = pd.Series(np.bincount(data.z), index=data.z_names, name="rows")
share = counts / counts.sum()
report.glue("xs9_n_rows", int(counts.sum()))
report.glue("xs9_white_share", 100 * float(share["White"]))
report.glue("xs9_smallest_share", 100 * float(share.min()))
report.glue("xs9_smallest_name", str(share.idxmin()))
if not (len(counts) == 5 and share.idxmax() == "White" and share.min() < 0.01):
    raise AssertionError(f"expected five groups, White the largest, one below 1 %: {share}")

# %% tags=["nbval-check-output"]
pd.DataFrame({"rows": counts, "share": share.round(4)})

# %% [markdown]
# Of the {glue:text}`xs9_n_rows` rows, {glue:text}`xs9_white_share:.1f` % are White; the smallest
# group ({glue:text}`xs9_smallest_name`) holds {glue:text}`xs9_smallest_share:.2f` %. Binarising
# race puts four groups with different age and education profiles into one "non-White" group; a
# repair that equalises White and non-White says nothing about, say, Asian-Pac-Islander against
# Black rows.
#
# ## All groups at once
#
# Nothing in the barycenter theorem needs two groups: its derivation bounds $\mathbb E\lVert X -
# \hat X\rVert^2$ group by group, for any number of groups, and the Gaussian fixed point of
# {prf:ref}`xs-prop-gaussian` takes any number of covariances. The multi-marginal problem (one
# coupling of all five groups) and the barycenter problem have the same value for the quadratic
# cost {cite}`agueh2011barycenters`, so "multi-marginal" costs nothing extra here: five Brenier
# maps onto one barycenter.
#
# **Check.** On one training fold's group moments (ridge as in the setting), the five-group
# barycenter and maps of {mod}`companion.theory.multi_marginal` equal POT's
# `bures_wasserstein_barycenter` and `bures_wasserstein_mapping`.

# %%
tr_idx, _ = tabular.folds(data, setting.k_folds, ctx.seed)[0]
x_tr, y_tr, z_tr = data.x[tr_idx], data.y[tr_idx], data.z[tr_idx]
p, means, covs = mm.group_moments(x_tr, z_tr, 5, setting.ridge)
l2 = mm.group_barycenter(means, covs, p)
m_pot, s_pot = ot.gaussian.bures_wasserstein_barycenter(means, covs, p, num_iter=3000, eps=1e-12)
map_gap = max(
    float(np.abs(b - ot.gaussian.bures_wasserstein_mapping(m, l2.m_bar, c, l2.s_bar)[0]).max())
    for m, c, b in zip(means, covs, l2.maps)
)
pot_gap = max(float(np.abs(l2.s_bar - s_pot).max()), float(np.abs(l2.m_bar - m_pot).max()))
if not (l2.log["converged"] and pot_gap < 1e-6 and map_gap < 1e-5):
    raise AssertionError(f"five-group barycenter differs from POT's: {pot_gap:.1e}, {map_gap:.1e}")
report.glue("xs9_pot_gap", pot_gap)
print(f"five groups: largest |ours - POT| barycenter {pot_gap:.0e}, maps below 1e-5")

# %% [markdown]
# Our five-group barycenter and POT's differ by at most {glue:text}`xs9_pot_gap:.0e` in any entry.
#
# ## A task-aligned cost
#
# The $L^2$ cost charges moving "age 40s" as much as moving "education > 12", although the label
# depends on them very differently. A task-aligned cost weights the features by their relevance to
# $Y$: $c_M(x, y) = (x-y)^\top M(x-y)$ with $M = \mathrm{diag}(w)$, where $w_j$ is the absolute
# coefficient of feature $j$ in a logistic regression of $Y$ on $X$ (`TASK_METRIC="logistic"`) or
# $|\mathrm{corr}(X_j, Y)|$ (`"covariance"`), fitted on the training rows, scaled to mean 1 and
# floored at a share of the largest weight so that $M \succ 0$. Moving a label-relevant feature is
# then expensive, and the barycenter moves the cheap ones instead.
#
# ```{prf:proposition} The Mahalanobis barycenter is a whitened W2 barycenter
# :label: xs-prop-mahalanobis
# Let $M \succ 0$, $R = M^{1/2}$, $\varphi(x) = Rx$, and $W_M$ the transport distance for $c_M$.
# For laws $\mu, \nu$ with finite second moments:
# 1. $W_M(\mu, \nu) = W_2(\varphi_\#\mu, \varphi_\#\nu)$, and $\pi$ is $c_M$-optimal if and only if
#    $(\varphi\times\varphi)_\#\pi$ is $W_2$-optimal; if $T'$ is the Brenier map from
#    $\varphi_\#\mu$ to $\varphi_\#\nu$, then $T = \varphi^{-1}\circ T'\circ\varphi$ is the
#    $c_M$-optimal map from $\mu$ to $\nu$.
# 2. $\bar\nu_M := \arg\min_\nu \sum_z p_z W_M^2(\mu_z, \nu) = (\varphi^{-1})_\#\,\bar\nu'$, with
#    $\bar\nu'$ the $W_2$ barycenter of $\{\varphi_\#\mu_z\}$, and
#    $\min_{\hat X = f(X,Z),\,\hat X\perp Z} \mathbb E\,c_M(X, \hat X) = \sum_z p_z
#    W_M^2(\mu_z, \bar\nu_M)$, attained by $\hat X = T^M_Z(X)$ with $T^M_z =
#    \varphi^{-1}\circ T'_z\circ\varphi$.
# 3. For $\mu_z = N(m_z, \Sigma_z)$, $\Sigma_z \succ 0$: $T^M_z(x) = \bar m + B_z(x - m_z)$ with
#    $\bar m = \sum_z p_z m_z$ (the same mean as for $L^2$), $B_z = R^{-1}A'_zR$, where $A'_z$ is
#    the Brenier matrix of {prf:ref}`xs-prop-gaussian` from $R\Sigma_zR$ to the whitened barycenter
#    covariance $\bar\Sigma'$, and $\bar\nu_M = N(\bar m, R^{-1}\bar\Sigma'R^{-1})$. $MB_z =
#    RA'_zR$ is symmetric positive definite. If all $\Sigma_z$ are equal, $B_z = A_z = I$ for every
#    $M$; if $M$ and all $\Sigma_z$ are diagonal, $B_z = A_z$.
# ```
#
# **Proof.** (1) $c_M(x, y) = \lVert Rx - Ry\rVert^2$. The map $\pi \mapsto
# (\varphi\times\varphi)_\#\pi$ is a bijection from the couplings of $(\mu, \nu)$ onto those of
# $(\varphi_\#\mu, \varphi_\#\nu)$ ($\varphi$ is a linear bijection), and it preserves the cost:
# $\int c_M\,d\pi = \int\lVert u - v\rVert^2\,d(\varphi\times\varphi)_\#\pi$. So the infima agree
# and optimal couplings correspond. If $T'$ is optimal for the whitened pair, the coupling
# $(\mathrm{id}, T')_\#\varphi_\#\mu$ is the image of $(\mathrm{id}, \varphi^{-1}T'\varphi)_\#\mu$,
# hence $T$ is optimal; $\varphi_\#\mu$ is absolutely continuous whenever $\mu$ is, so $T'$ exists
# by Brenier's theorem. (2) By (1), $\sum_z p_zW_M^2(\mu_z, \nu) = \sum_z p_z W_2^2(\varphi_\#\mu_z,
# \varphi_\#\nu)$, and $\nu \mapsto \varphi_\#\nu$ is a bijection of the laws with finite second
# moments, so the minimisers correspond. The lower bound and its attainment are the derivation of
# {prf:ref}`xs-thm-barycenter` with $c_M$ in place of $\lVert\cdot\rVert^2$: given $Z=z$,
# $(X, \hat X)$ couples $\mu_z$ with the law $\nu$ of $\hat X$, so $\mathbb E\,c_M(X,\hat X) \ge
# \sum_z p_zW_M^2(\mu_z,\nu) \ge \sum_z p_zW_M^2(\mu_z,\bar\nu_M)$, with equality for $T^M_Z(X)$,
# whose law is $\bar\nu_M$ given every $z$. (3) $\varphi_\#N(m, \Sigma) = N(Rm, R\Sigma R)$; the
# whitened barycenter is $N(\sum_zp_zRm_z, \bar\Sigma')$ and $T'_z(u) = R\bar m + A'_z(u - Rm_z)$,
# so $T^M_z(x) = R^{-1}T'_z(Rx) = \bar m + R^{-1}A'_zR(x - m_z)$. $MB_z = R(RR^{-1})A'_zR =
# RA'_zR$, symmetric positive definite because $A'_z$ is. Equal $\Sigma_z$ give equal whitened
# covariances, whose barycenter is that covariance, so $A'_z = I$ and $B_z = I$. With everything
# diagonal, all matrices commute and $B_z = A'_z = A_z$. $\square$
#
# Part 3 is the point to remember: **the translation part of every map, $\bar m - m_z$, does not
# depend on the cost**. A task-aligned cost can change only how the maps reshape the groups'
# covariances, and only where these do not commute with $M$.
#
# **Check.** With $M$ from this fold's logistic weights: the maps push every group onto
# $\bar\nu_M$ and $MB_z$ is symmetric; each barycenter is the cheaper one under its own cost; and,
# on small samples, the exact plan computed by whitening equals POT's `ot.emd` on the Mahalanobis
# cost matrix (same plan, same cost), and the free-support barycenter computed by whitening POT's
# `free_support_barycenter` is a fixed point of POT's update under $c_M$.

# %%
w = xm.task_metric(x_tr, y_tr, setting.metric, setting.floor)
maha = mm.group_barycenter(means, covs, p, w)
push_gap = max(float(np.abs(b @ c @ b.T - maha.s_bar).max()) for b, c in zip(maha.maps, covs))
sym_gap = max(float(np.abs(np.diag(w) @ b - (np.diag(w) @ b).T).max()) for b in maha.maps)


def cost_under(bary, metric):
    """sum_z p_z W_M^2(N(m_z, S_z), bary)."""
    return sum(
        pz * mm.w2_gaussian_mahalanobis(m, c, bary.m_bar, bary.s_bar, metric)
        for pz, m, c in zip(p, means, covs)
    )


costs = pd.DataFrame(
    {
        "L2 barycenter": [cost_under(l2, None), cost_under(l2, w)],
        "Mahalanobis barycenter": [cost_under(maha, None), cost_under(maha, w)],
    },
    index=["L2 cost", "Mahalanobis cost"],
)
# the translation part: sum_z p_z |m_z - m_bar|^2, the same for both costs (proposition, part 3)
mean_part = float(p @ np.sum((means - l2.m_bar) ** 2, axis=1))
map_diff = max(float(np.abs(a - b).max()) for a, b in zip(l2.maps, maha.maps))

rng = np.random.default_rng(ctx.seed)
xs_, ys_ = x_tr[rng.choice(len(x_tr), 12, replace=False)], x_tr[z_tr != 4][:12]
xs_ = xs_ + 0.01 * rng.normal(size=xs_.shape)  # break ties between identical one-hot rows
cm = mm.mahalanobis_cost_matrix(xs_, ys_, w)
plan_pot = ot.emd(np.full(12, 1 / 12), np.full(12, 1 / 12), cm)
plan, plan_cost = mm.mahalanobis_emd(xs_, ys_, w)
locs = [x_tr[z_tr == g][:40] + 0.01 * rng.normal(size=(40, 16)) for g in range(5)]
sup = mm.mahalanobis_free_support_barycenter(locs, locs[4][:20], w, p, max_iter=500)
b20 = np.full(20, 1 / 20)
step = sum(
    pz
    * (ot.emd(b20, np.full(40, 1 / 40), mm.mahalanobis_cost_matrix(sup, loc, w)) @ loc)
    / b20[:, None]
    for pz, loc in zip(p, locs)
)
fs_gap = float(np.abs(step - sup).max())
checks = {
    "push": push_gap < 1e-8,
    "M B symmetric": sym_gap < 1e-9,
    "own cost is cheaper": costs.iloc[0, 0] <= costs.iloc[0, 1] + 1e-12
    and costs.iloc[1, 1] <= costs.iloc[1, 0] + 1e-12,
    "plan = POT emd": np.abs(plan - plan_pot).max() < 1e-12
    and abs(plan_cost - float(np.sum(plan_pot * cm))) < 1e-12,
    "free support fixed point": fs_gap < 1e-3,
}
if not all(checks.values()):
    raise AssertionError(f"Mahalanobis checks failed: {checks}, {push_gap:.1e}, {fs_gap:.1e}")
report.glue("xs9_mean_share", 100 * mean_part / costs.iloc[0, 0])
gain_m = 100 * (1 - costs.iloc[1, 1] / costs.iloc[1, 0])
gain_l2 = 100 * (1 - costs.iloc[0, 0] / costs.iloc[0, 1])
if not (0 <= gain_m < 1 and 0 <= gain_l2 < 1):
    raise AssertionError(f"the two barycenters' costs were claimed within 1 %: {gain_m}, {gain_l2}")
report.glue("xs9_gain_m", gain_m)
report.glue("xs9_gain_l2", gain_l2)
report.glue("xs9_n_floor", int(np.sum(np.isclose(w, w.min()))))
report.glue("xs9_map_diff", map_diff)
report.glue("xs9_plan_cost", plan_cost)
weights = pd.Series(w, index=data.feature_names, name="w").sort_values(ascending=False)
report.glue("xs9_top_feature", weights.index[0])
report.glue("xs9_w_ratio", float(weights.iloc[0] / weights.iloc[-1]))
print(", ".join(f"{k}: ok" for k in checks))

# %% tags=["nbval-check-output"]
costs.map(lambda v: f"{v:.6e}")

# %% [markdown]
# The task weights range over a factor {glue:text}`xs9_w_ratio:.1f` (largest:
# {glue:text}`xs9_top_feature`; {glue:text}`xs9_n_floor` features sit at the floor). Each
# barycenter is the cheaper under its own cost (table), as the proposition says, but by less than
# 1 %: the Mahalanobis barycenter saves {glue:text}`xs9_gain_m:.1e` % of the Mahalanobis cost, the
# $L^2$ one {glue:text}`xs9_gain_l2:.1e` % of the $L^2$ cost. The translation part
# $\sum_zp_z\lVert m_z - \bar m\rVert^2$, identical for both costs, is
# {glue:text}`xs9_mean_share:.0f` % of the $L^2$ barycenter's distortion; the two repairs'
# matrices $A_z$, $B_z$ differ by at most {glue:text}`xs9_map_diff:.3f` in any entry.
# The exact Mahalanobis plan on 12 + 12 rows (cost {glue:text}`xs9_plan_cost:.4f`) is POT's.
#
# ## The frontier along the McCann path
#
# For each repair and each $t$, every row's features $X_t = (1-t)X + tT_Z(X)$ come from maps
# fitted on the other folds (cross-fitting), so all measurements are on held-out rows:
#
# - **utility**: ROC-AUC for $Y$ of a logistic regression trained on the training folds' $X_t$
#   with the original labels (no label transport here: the question is about the features);
# - **leakage, all five groups**: a class-balanced multinomial logistic probe for $Z$ on $X_t$,
#   cross-validated: its balanced accuracy (chance 1/5); a random-forest probe's one-vs-rest
#   macro AUC (chance 0.5); and the demographic-parity gap of the utility classifier,
#   $\max_z|\bar q_z - \bar q|$, with $\bar q_z$ its mean prediction in group $z$;
# - a **no-information level** for the probes: the same probes on the five-group repair's $X_1$
#   against randomly permuted $Z$ (cross-validated probes on small groups score below chance, so
#   "chance" is measured, not assumed).

# %%
res = xm.multigroup_path(data, setting, seed=ctx.seed)
path = res.path
null_mean, null_sd = res.null.mean(), res.null.std(ddof=1)
report.glue("xs9_rows", int(path.attrs["rows"]))
report.glue("xs9_null_bacc", float(null_mean["probe_bacc"]))
report.glue("xs9_null_sd", float(null_sd["probe_bacc"]))
report.glue("xs9_null_text", "below" if null_mean["probe_bacc"] < 0.2 else "not below")
if not (abs(null_mean["probe_auc"] - 0.5) < 0.1 and abs(null_mean["probe_bacc"] - 0.2) < 0.1):
    raise AssertionError(f"probes on permuted Z should sit near chance: {null_mean.to_dict()}")
cols = ["auc", "dp_gap", "probe_bacc", "probe_auc", "probe_rf_auc", "dist_l2", "dist_m"]

# %% tags=["nbval-check-output"]
path.set_index(["variant", "t"])[cols].round(3)

# %%
names = {
    "two_group_l2": "two groups, L2 (paper)",
    "multi_l2": "five groups, L2",
    "multi_mahalanobis": "five groups, Mahalanobis",
}
with plotting.house_style():
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), sharey=True)
    for ax, col, label in zip(
        axes,
        ("probe_bacc", "dp_gap", "probe_rf_auc"),
        ("linear probe, balanced accuracy", "demographic-parity gap", "forest probe, macro AUC"),
    ):
        for i, (v, nm) in enumerate(names.items()):
            d = path[path.variant == v]
            ax.plot(d[col], d["auc"], "-o", color=f"C{i}", ms=4, label=nm)
            ax.annotate("t=1", (d[col].iloc[-1], d["auc"].iloc[-1]), fontsize=7, color=f"C{i}")
        if col in res.null:
            lo, hi = null_mean[col] - 2 * null_sd[col], null_mean[col] + 2 * null_sd[col]
            ax.axvspan(lo, hi, color="0.85", zorder=0, label="no information (permuted Z)")
        ax.set(xlabel=f"leakage: {label}")
    axes[0].set_ylabel("utility: ROC-AUC for Y")
    axes[1].legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="lower right")
    fig.tight_layout()
report.glue("xs9_frontier", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} xs9_frontier
# :name: xs9-frontier
# Utility against leakage along the McCann path ($t = 0$ at the shared starting point, $t=1$
# marked) for the three repairs. Left: a linear probe for the five race groups; middle: the
# demographic-parity gap over the five groups; right: a forest probe. Grey band: the probes'
# no-information level (mean $\pm$ 2 sd over permutations of $Z$).
# ```
#
# ## What the frontier says

# %%
at1 = path[path.t == 1.0].set_index("variant")
at0 = path[path.t == 0.0].set_index("variant")
band = float(null_mean["probe_bacc"] + 2 * null_sd["probe_bacc"])
d_multi, sd_multi = res.auc_difference("multi_l2", "two_group_l2", n_boot=setting.n_boot)
d_maha, sd_maha = res.auc_difference("multi_mahalanobis", "multi_l2", n_boot=setting.n_boot)
tol_auc, tol_leak = 2 * max(sd_maha, 1e-4), 2 * float(null_sd["probe_bacc"])
dom = {
    (a, b): xm.dominates(path, a, b, "probe_bacc", tol_auc, tol_leak)
    for a in names
    for b in names
    if a != b
}
# claims of the prose below, each checked
if not at1.loc["two_group_l2", "probe_bacc"] > band:
    raise AssertionError("the two-group repair was claimed to leave five-group leakage")
if not max(at1.loc["multi_l2", "probe_bacc"], at1.loc["multi_mahalanobis", "probe_bacc"]) <= band:
    raise AssertionError("the five-group repairs were claimed to reach the no-information level")
if (
    not at1.loc["two_group_l2", "dp_gap"]
    > at1.loc[["multi_l2", "multi_mahalanobis"], "dp_gap"].max()
):
    raise AssertionError("the two-group repair was claimed to leave a larger parity gap")
if not (dom[("multi_l2", "two_group_l2")] and not dom[("two_group_l2", "multi_l2")]):
    raise AssertionError("the five-group L2 frontier was claimed to dominate the two-group one")
if not (d_multi < 0 and abs(d_multi) < 0.01):
    raise AssertionError(f"the five-group repair was claimed to cost < 0.01 AUC: {d_multi:.4f}")
if not (
    at1.loc[["multi_l2", "multi_mahalanobis"], "probe_rf_auc"].min()
    > at0.loc["multi_l2", "probe_rf_auc"] + 0.2
):
    raise AssertionError("the forest probe was claimed to gain from the Gaussian maps")
same_frontier = dom[("multi_mahalanobis", "multi_l2")] and dom[("multi_l2", "multi_mahalanobis")]
if not (same_frontier and abs(d_maha) < 0.005):
    raise AssertionError(
        f"the two five-group frontiers were claimed to coincide within noise: {dom}, {d_maha:.4f}"
    )
report.glue("xs9_two_bacc", float(at1.loc["two_group_l2", "probe_bacc"]))
report.glue("xs9_multi_bacc", float(at1.loc["multi_l2", "probe_bacc"]))
report.glue("xs9_maha_bacc", float(at1.loc["multi_mahalanobis", "probe_bacc"]))
report.glue("xs9_orig_bacc", float(at0.loc["multi_l2", "probe_bacc"]))
report.glue("xs9_two_dp", float(at1.loc["two_group_l2", "dp_gap"]))
report.glue("xs9_multi_dp", float(at1.loc["multi_l2", "dp_gap"]))
report.glue("xs9_maha_dp", float(at1.loc["multi_mahalanobis", "dp_gap"]))
report.glue("xs9_orig_dp", float(at0.loc["multi_l2", "dp_gap"]))
report.glue("xs9_orig_auc", float(at0.loc["multi_l2", "auc"]))
report.glue("xs9_d_multi", d_multi)
report.glue("xs9_sd_multi", sd_multi)
report.glue("xs9_d_maha", d_maha)
report.glue("xs9_sd_maha", sd_maha)
report.glue("xs9_rf_orig", float(at0.loc["multi_l2", "probe_rf_auc"]))
report.glue("xs9_rf_multi", float(at1.loc["multi_l2", "probe_rf_auc"]))
report.glue("xs9_rf_two", float(at1.loc["two_group_l2", "probe_rf_auc"]))
report.glue("xs9_tol_auc", tol_auc)
report.glue("xs9_tol_leak", tol_leak)
report.glue(
    "xs9_maha_text",
    "significantly positive (beyond two bootstrap standard deviations) but far too small to matter"
    if d_maha > 2 * sd_maha
    else "within two bootstrap standard deviations of zero"
    if abs(d_maha) <= 2 * sd_maha
    else "significantly negative but far too small to matter",
)
print(
    f"AUC(five groups, L2) - AUC(two groups) at t = 1: {d_multi:+.4f} (bootstrap sd {sd_multi:.4f})"
)
print(f"AUC(Mahalanobis) - AUC(L2), five groups, t = 1: {d_maha:+.4f} (sd {sd_maha:.4f})")

# %% tags=["nbval-check-output"]
pd.Series({f"{a} dominates {b}": v for (a, b), v in dom.items()}, name="within tolerance")

# %% [markdown]
# On {glue:text}`xs9_rows` rows:
#
# **Two groups are not enough.** The paper's binarised repair equalises White against non-White,
# and nothing else: at $t=1$ a linear probe still recovers the five groups with balanced accuracy
# {glue:text}`xs9_two_bacc:.3f` (original data {glue:text}`xs9_orig_bacc:.3f`), above the
# no-information level {glue:text}`xs9_null_bacc:.3f` $\pm$ 2 $\times$
# {glue:text}`xs9_null_sd:.3f`, and its classifier's parity gap over the five groups is
# {glue:text}`xs9_two_dp:.3f` (original {glue:text}`xs9_orig_dp:.3f`). The five-group $L^2$
# barycenter brings the probe to {glue:text}`xs9_multi_bacc:.3f` and the gap to
# {glue:text}`xs9_multi_dp:.3f`, while its AUC changes by {glue:text}`xs9_d_multi:.4f` against
# the two-group repair's (bootstrap sd {glue:text}`xs9_sd_multi:.4f`; the original AUC is
# {glue:text}`xs9_orig_auc:.3f`). Its frontier
# dominates the two-group frontier, within tolerances of {glue:text}`xs9_tol_auc:.4f` AUC and
# {glue:text}`xs9_tol_leak:.3f` balanced accuracy, and not the other way round (table above).
#
# **The task-aligned cost changes almost nothing.** The Mahalanobis barycenter's AUC differs from
# the $L^2$ one's by {glue:text}`xs9_d_maha:.4f` at $t=1$ (sd {glue:text}`xs9_sd_maha:.4f`),
# {glue:text}`xs9_maha_text`; its probe reads {glue:text}`xs9_maha_bacc:.3f` and its parity gap
# {glue:text}`xs9_maha_dp:.3f`, and each of the two five-group frontiers dominates the other within
# the same tolerances: they coincide within noise. The proposition accounts for part of this: the
# two repairs share the translation $\bar m - m_z$ ({glue:text}`xs9_mean_share:.0f` % of the
# distortion) and differ only in how they reshape the covariances, and the two barycenters'
# costs differ by less than 1 %. The measurements show that this reshaping does not
# reach a retrained linear classifier's AUC; they do not say why.
#
# **No Gaussian repair removes what a forest sees.** The forest probe's AUC rises from
# {glue:text}`xs9_rf_orig:.3f` on the original features to {glue:text}`xs9_rf_multi:.3f` for the
# five-group repair (two groups: {glue:text}`xs9_rf_two:.3f`): one-hot rows take a few dozen
# values, the affine maps send each group's cells to *group-specific* points, and a forest reads
# the group off the position. This is chapter 2's pseudo-barycenter limitation, now with five
# groups and worse than doing nothing.
#
# The parity gap per group at $t=1$:

# %%
g1 = res.groups[res.groups.t == 1.0].pivot(index="group", columns="variant", values="dp")
g1 = g1[list(names)].rename(columns=names)
g1.insert(0, "rows", res.groups[res.groups.t == 1.0].groupby("group").n.first())
worst = g1.drop(columns="rows").abs().idxmax()
report.glue("xs9_worst_two", str(worst[names["two_group_l2"]]))
report.glue("xs9_small_rows", int(g1["rows"].min()))
if worst[names["two_group_l2"]] == "White":
    raise AssertionError("the two-group repair's largest gap was claimed to be a non-White group")
if not g1[names["two_group_l2"]].abs().max() > g1[names["multi_l2"]].abs().max():
    raise AssertionError("the two-group repair was claimed to leave the largest per-group gap")

# %% tags=["nbval-check-output"]
g1.round(4)

# %% [markdown]
# Under the two-group repair the largest gap sits with {glue:text}`xs9_worst_two`: the repair
# moved all non-White rows as one group, so the non-White groups' differences from each other stay.
#
# ## Summary
#
# - **Multi-marginal (all groups).** *Settled:* the barycenter theorem and its Gaussian closed
#   form hold for five groups (checked against POT), and on Adult the five-group barycenter's
#   frontier dominates the paper's binarised one when leakage is measured on all five groups: a
#   linear probe falls to its no-information level and the parity gap to
#   {glue:text}`xs9_multi_dp:.3f`, for an AUC change of {glue:text}`xs9_d_multi:.4f`. *Not
#   settled:* the smallest group has {glue:text}`xs9_small_rows` rows in this run, so the small
#   groups' moments, and their parity gaps, are noisy; FULL uses every row.
# - **Task-aligned cost.** *Settled:* transport under $(x-y)^\top M(x-y)$ is $W_2$ after $x\mapsto
#   M^{1/2}x$ ({prf:ref}`xs-prop-mahalanobis`, checked against POT's exact plans and free-support
#   barycenter), and its barycenter maps share the $L^2$ maps' translations. On Adult with
#   label-weighted $M$ its frontier coincides with the $L^2$ one within noise (AUC difference
#   {glue:text}`xs9_d_maha:.4f`). *Not settled:* other choices of $M$ (non-diagonal, learned for
#   the downstream task, or weighting by relevance to $Z$), other utilities than a retrained linear
#   classifier, and data whose groups differ mainly in covariance, where the proposition leaves
#   room for a difference.
# - **What neither fixes.** Deterministic affine maps on discrete features make the groups *more*
#   recognisable to a forest ({glue:text}`xs9_rf_multi:.3f`): a real answer to the open question
#   on tabular data needs transport plans (randomised maps) or a barycenter on the discrete support,
#   not a better cost.
#
# ## Exercises
#
# 1. Show that if all groups share one covariance, the $L^2$ and Mahalanobis repairs are the same
#    map for every $M \succ 0$, and compute the distortion of both.
# 2. Re-run the page with `TASK_METRIC = "covariance"`. Which rows of the frontier table change,
#    and why do the two-group and five-group $L^2$ rows not?
# 3. The no-information level of the linear probe is {glue:text}`xs9_null_bacc:.3f`,
#    {glue:text}`xs9_null_text` the nominal 1/5. Why can a cross-validated, class-balanced probe
#    score below chance on labels independent of the features?
# 4. Sketch a repair of the one-hot features that defeats the forest probe at $t = 1$.
#
# ```{admonition} Solutions
# :class: dropdown
# 1. With $\Sigma_z = \Sigma$ for all $z$, the whitened covariances $R\Sigma R$ are equal, so their
#    barycenter is $R\Sigma R$ itself and every $A'_z = I$; hence $B_z = I$ and $T^M_z(x) = x +
#    \bar m - m_z = T_z(x)$. The $L^2$ distortion of both is $\sum_zp_z\lVert m_z - \bar
#    m\rVert^2$, the $c_M$ distortion $\sum_zp_z(m_z-\bar m)^\top M(m_z-\bar m)$. On this fold the
#    translation carries {glue:text}`xs9_mean_share:.0f` % of the $L^2$ distortion.
# 2. Only the `multi_mahalanobis` rows (and `dist_m`, which uses the task weights of the setting's
#    metric for every variant): the $L^2$ repairs never use $M$. The weights change, the translation
#    part does not (proposition, part 3), so the Mahalanobis rows move by about as little as they
#    differ from the $L^2$ rows here (AUC {glue:text}`xs9_d_maha:.4f`).
# 3. Leaving a row out of the training fold moves its class's training mean *away* from it, and
#    with groups of a few dozen rows the shift is not negligible; with no real signal the probe
#    then prefers the other classes for held-out rows. The permutation level measures this bias on
#    the same features and group sizes.
# 4. Replace each group's map by an optimal transport *plan* between the group's empirical
#    distribution over the one-hot cells and a common target distribution on the same cells
#    (`ot.emd` between the cell histograms, or POT's free-support barycenter restricted to the
#    cells), and send each row to a random target cell drawn from its row of the plan. All groups
#    then have the same discrete law, and no function of $\hat X$, a forest included, recovers $Z$
#    beyond chance. Under a Mahalanobis cost use `mm.mahalanobis_emd` for the plans.
# ```
#
# ```{bibliography}
# :filter: docname in docnames
# ```
