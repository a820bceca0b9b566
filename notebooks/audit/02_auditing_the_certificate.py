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
# # Auditing the certificate
#
# A certificate of unlearning is an upper bound: whatever an adversary does with the released model,
# it cannot tell the unlearned model from the retrained one better than $(\varepsilon, \delta)$
# allows {cite}`koloskova2025certified`. An *audit* runs the other way. It runs the mechanism many
# times, applies a fixed distinguishing test, and turns the test's measured error rates into a
# **lower bound** $\varepsilon_{lb}$ that holds with a stated confidence
# {cite}`jagielski2020auditing` (also Nasr et al. 2021, arXiv 2101.04535). A correct certificate can
# never be below a sound lower bound. When the lower bound exceeds the claimed $\varepsilon$, the
# claim is wrong, or the code does not run the mechanism that was analysed.
#
# **This page shows**
# - the strongest experiment for a certificate that holds for *any* two start models in the $C_0$
#   ball: two extreme starts $\pm C_0 u$, the real noisy fine-tuning engine, and the released
#   model's projection on $u$;
# - the Clopper-Pearson lower bound over many runs and the one-run audit of Steinke, Nasr &
#   Jagielski {cite}`steinke2023privacy`, both at 95 % confidence, beside the certified
#   $\varepsilon$ of gradient clipping, model clipping and output perturbation over a sweep of
#   budgets, with the tightness ratio $\varepsilon_{lb}/\varepsilon_{cert}$ (asserted $\le 1$ on
#   every run);
# - four deliberately broken variants (frozen noise, the classic output-perturbation formula at
#   $\varepsilon=10$, a noisy phase cut short of $T$, half the noise), each caught by the audit;
# - an audit of the Opacus accountant behind the DP-SGD baseline on very small data;
# - why the NeurIPS 2023 challenge's plug-in estimator must not be used for this check.

# %%
import importlib.metadata
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion import config, data, report
from companion.experiments import cert_audit as audit
from companion.experiments import dpsgd_audit
from companion.metrics import epsilon as eps_metrics
from companion.plotting import house_style
from companion.theory import certified as acc
from companion.theory import privacy as priv

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
EPSILON = 1.0
DELTA = 1e-5
N_SAMPLES = 5000
N_REPS = 0

# %%
ctx = config.resolve(
    PROFILE,
    SEED,
    DEVICE,
    DATA_ROOT,
    EPSILON=EPSILON,
    DELTA=DELTA,
    N_SAMPLES=N_SAMPLES,
    N_REPS=N_REPS,
)
print(report.banner(ctx))
SIZES = audit.CertAuditSetting.for_profile(ctx.profile, n_samples=N_SAMPLES, dp_runs=N_REPS or None)
N_RUNS = SIZES.n_runs  # releases per start point
EPS_SWEEP, DP_RUNS, DP_SIZES, NET_RUNS = (
    SIZES.eps_sweep,
    SIZES.dp_runs,
    SIZES.dp_sizes,
    SIZES.net_runs,
)
# 95 % confidence; DEVICE is not used: every run here is CPU-sized (one-parameter models, a few
# points)
ALPHA = 0.05
report.glue("audit2_n_runs", N_RUNS)
report.glue("audit2_dp_runs", DP_RUNS)

# %% [markdown]
# ## The distinguishing experiment
#
# All three certified methods of {cite}`koloskova2025certified` start by clipping the trained model
# to the ball of radius $C_0$, and their certificates bound the distance between the outputs started
# from *any* two points of that ball. The two points the adversary would choose are as far apart as
# possible, $+C_0u$ and $-C_0u$; the natural score of a released model is its projection on $u$. For
# a Gaussian release that threshold test is the Neyman-Pearson test, so nothing is lost by it there.
#
# To make the analyses' worst cases reachable the "network" is one parameter $w$ trained on one
# sample, whose cross-entropy is $\tfrac h2 w^2 + 1$, run through the same stacked engine
# (`run_stacked`) as the other chapters, with $C_0 = 1$, $\gamma = 0.1$, $\lambda = 1$, a fresh
# Gaussian draw per step and per run (except in the frozen-noise variant below), and no fine-tuning
# after the noisy phase (fine-tuning is post-processing, so it can only help the certificate). On
# the flat loss ($h = 0$) gradient clipping releases $\rho^T w_0$ plus Gaussian noise, $\rho = 1 -
# \gamma\lambda$, and its shifted-Rényi bound is tight up to the small gradient term $2\gamma C_1$
# ($C_1 = 10^{-3}$ there); on the oscillating loss ($\gamma(h + \lambda) = 2$) one unclipped step
# maps $w$ to $-w$.
#
# Every configuration runs {glue:}`audit2_n_runs` times from each start in one vectorised call. Two
# statistics are fixed in advance, the projection $w$ and the closeness $-|w - C_0|$ to the $+C_0$
# start, and each is audited at $\alpha/2$, so their maximum holds at $1 - \alpha = 95\,\%$:
#
# * **Clopper-Pearson** (over many runs): a threshold rule chosen on half of the runs; on the other
#   half its false positives and false negatives give one-sided Clopper-Pearson upper limits at
#   $\alpha/4$ each, and $\varepsilon_{lb} =
#   \max\big(\ln\tfrac{1-\delta-\mathrm{FPR}_u}{\mathrm{FNR}_u},
#   \ln\tfrac{1-\delta-\mathrm{FNR}_u}{\mathrm{FPR}_u}\big)$;
# * **one run** {cite}`steinke2023privacy`: the $n$ models of one stacked call are $n$ canaries,
#   each started at $+C_0$ or $-C_0$ by a fair coin; the auditor guesses "$+$" for the $k$ highest
#   scores and "$-$" for the $k$ lowest, and the bound is the largest $\varepsilon$ whose
#   $\mathrm{Binomial}(2k, e^\varepsilon/(1+e^\varepsilon))$ tail (plus the paper's $\delta$ term)
#   rejects the number of correct guesses; the search over three values of $k$ is paid for with a
#   Bonferroni correction. Here each canary lives in its own model (the theorem needs only that the
#   call is $(\varepsilon,\delta)$-DP in each canary); many canaries inside one model would each
#   carry a $1/\sqrt m$ share of the $2C_0$ budget and prove far less.
#
# QUICK runs {glue:}`audit2_n_runs` releases per start and the budgets 0.5 to 4; FULL ten times the
# runs and a wider sweep. Both are exact analogues: the task is the same one-parameter worst case in
# both.

# %%
cert_rows = audit.audit_all(
    audit.certified_instances(EPS_SWEEP, DELTA), N_RUNS, seed=SEED, alpha=ALPHA, delta=DELTA
)
for _, r in cert_rows.iterrows():  # the lower bound may never exceed the certificate
    below = r["eps_lb"] <= r["claim"] and r["eps_lb_one_run"] <= r["claim"]
    assert below, f"audit above the certificate: {r.to_dict()}"
    assert not r["flagged"], f"a sound certificate was flagged: {r.to_dict()}"
columns = {
    "method": "method",
    "claim": "certified eps",
    "eps_lb": "eps_lb (CP)",
    "eps_lb_one_run": "eps_lb (one run)",
    "tightness": "eps_lb / cert",
    "eps_gaussian_hat": "eps of the measured shift",
}
cert_table = cert_rows[list(columns)].rename(columns=columns)
report.glue("audit2_cert_table", cert_table.round(3), display=False)
report.glue("audit2_n_cert", len(cert_rows))
report.glue("audit2_tight_max", float(cert_rows["tightness"].max()))
report.glue("audit2_tight_median", float(cert_rows["tightness"].median()))
gc1 = cert_rows[(cert_rows["method"] == "gradient_clipping") & (cert_rows["claim"].round(6) == 1.0)]
gc1_shift = float(gc1["eps_gaussian_hat"].iloc[0])
assert gc1_shift > 0.6, (
    f"gradient clipping's measured shift should be worth most of its certified eps = 1: {gc1_shift}"
)
report.glue("audit2_gc1_shift_eps", gc1_shift)

# %% tags=["nbval-check-output"]
print(cert_table.round(3).to_string(index=False))

# %% [markdown]
# ```{glue:} audit2_cert_table
# ```
#
# On all {glue:}`audit2_n_cert` certified runs both lower bounds stay below the certificate
# (asserted above). The tightness ratio reaches at most {glue:text}`audit2_tight_max:.2f` (median
# {glue:text}`audit2_tight_median:.2f`). The gap has two sources, and the last column separates
# them. For the Gaussian releases (gradient clipping on the flat loss, output perturbation) it
# converts the measured standardised shift of the two release distributions into the $\varepsilon$
# of a Gaussian mechanism (a point estimate, not a bound). At a certified $\varepsilon = 1$ gradient
# clipping's shift is worth $\varepsilon \approx$ {glue:text}`audit2_gc1_shift_eps:.2f`, so the
# accountant itself is close to tight on this instance. Most of the gap is the audit's: at $\delta =
# 10^{-5}$ a threshold test that reaches the certified $\varepsilon$ needs error rates near
# $\delta$, and a few thousand runs cannot measure those. Model clipping's release is not Gaussian
# (it is projected back into the $C_2$ ball), so only the lower bounds apply to it; output
# perturbation's certificate is exact by construction (analytic calibration).

# %%
with house_style():
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    for method, d in cert_rows.groupby("method", sort=False):
        (line,) = ax.plot(
            d["claim"], d["eps_lb"], marker="o", label=f"{method.replace('_', ' ')}: CP"
        )
        ax.plot(
            d["claim"],
            d["eps_lb_one_run"],
            marker="x",
            ls="--",
            color=line.get_color(),
            label=f"{method.replace('_', ' ')}: one run",
        )
    top = float(cert_rows["claim"].max())
    ax.plot(
        [0, top],
        [0, top],
        color="grey",
        lw=1,
        label="certificate ($\\varepsilon_{lb} = \\varepsilon_{cert}$)",
    )
    ax.set_xlabel("certified $\\varepsilon$ ($\\delta = 10^{-5}$)")
    ax.set_ylabel("empirical lower bound (95 %)")
    ax.legend(fontsize=7)
    fig.tight_layout()
report.glue("audit2_fig_sweep", fig, display=False)

# %% [markdown]
# ```{glue:figure} audit2_fig_sweep
# Lower bounds against the certified $\varepsilon$ of each method (markers: Clopper-Pearson,
# crosses: one run). Every point lies under the diagonal.
# ```

# %% [markdown]
# ### The same audit on a real network
#
# The one-parameter task makes the analyses' worst case reachable; a real network need not reach it.
# We run gradient clipping with the paper's MNIST setting ($C_0 = 0.01$, $C_1 = 100$, $\gamma =
# 10^{-4}$, $\lambda = 10$, so $T = 1$) on the {glue:}`audit2_net_params`-parameter `tiny_mlp` and
# 512 MNIST retain images (one full batch, so the whole budget is the noisy step). The network runs
# {glue:}`audit2_net_n` times from each of $\pm C_0u$, where $u$ is the direction of a seeded
# initialisation, and the score is again the projection on $u$.

# %%
net_task = data.load_task("mnist5k", forget="random:10", seed=SEED)
net = audit.network_audit(
    net_task, "tiny_mlp", EPSILON, NET_RUNS, seed=SEED, alpha=ALPHA, delta=DELTA
)
assert net["eps_lb"] <= net["claim"] and net["eps_lb_one_run"] <= net["claim"], (
    f"audit above the certificate: {net}"
)
report.glue("audit2_net_params", net["params"])
report.glue("audit2_net_n", net["n"])
report.glue("audit2_net_claim", float(net["claim"]))
report.glue("audit2_net_lb", float(net["eps_lb"]))
report.glue("audit2_net_lb1", float(net["eps_lb_one_run"]))
report.glue("audit2_net_mu", float(net["mu_hat"]))
report.glue("audit2_net_mu_worst", float(net["mu_worst_case"]))
report.glue("audit2_net_se", math.sqrt(2 / net["n"]))

# %% tags=["nbval-check-output"]
print(
    f"tiny_mlp, T = {net['T']}: certified {net['claim']:.3f}, eps_lb {net['eps_lb']:.3f} (CP), "
    f"{net['eps_lb_one_run']:.3f} (one run); standardised shift {net['mu_hat']:.3f}, "
    f"worst case {net['mu_worst_case']:.3f}"
)

# %% [markdown]
# Both lower bounds stay below the certified {glue:text}`audit2_net_claim:.2f` (asserted):
# {glue:text}`audit2_net_lb:.2f` (Clopper-Pearson) and {glue:text}`audit2_net_lb1:.2f` (one run).
# The measured standardised shift of the two release distributions is {glue:text}`audit2_net_mu:.3f`
# (standard error about {glue:text}`audit2_net_se:.2f`). The accountant budgets for $(2C_0\rho^T +
# 2\gamma C_1)/\sigma =$ {glue:text}`audit2_net_mu_worst:.3f`: a start gap plus two gradients
# clipped to $C_1$ that point in opposite directions. How close real gradients come to that worst
# case is more than {glue:}`audit2_net_n` runs per side can resolve. The one-parameter instance
# above, where the worst case is reached by construction, is what gives the audit its power.
#
# ## Broken variants: the audit must catch them
#
# Each broken variant runs beside a sound twin, and both claim the certificate of the correct run
# (the claimed $\varepsilon$ is `EPSILON` except at $\varepsilon = 10$):
#
# * **frozen noise** (the reference code's defect, {ref}`cert-frozen-noise`): gradient clipping on
#   the oscillating loss with $T = 2$ and the first noise draw reused. The second step cancels the
#   first draw, so whenever no gradient was clipped the release is exactly the start;
# * **the classic output-perturbation formula at $\varepsilon = 10$** ({ref}`cert-op-calibration`):
#   $\sigma = \sqrt{2\ln(1.25/\delta)}\,2C_0/\varepsilon$ is proved only for $\varepsilon < 1$ and
#   at 10 certifies only {glue:text}`audit2_classic_true:.2f` (its twin uses the exact analytic
#   calibration; both run twenty times as often);
# * **a budget shorter than $T$**: gradient clipping calibrated for $T = 6$ noisy steps is cut to 2
#   by calling the engine directly (the methods refuse such a budget) while claiming the 6-step
#   certificate;
# * **half the noise**: gradient clipping with $\sigma/2$, claiming the calibrated certificate.
#
# A variant is flagged when a lower bound exceeds its claim, or, for a Gaussian release, when the
# named statistic is out of range: a Gaussian pair satisfies $(\varepsilon,\delta)$ exactly when its
# standardised mean shift is at most $\mu^*(\varepsilon, \delta) = 2/\sigma_{\text{analytic}}(2,
# \varepsilon, \delta)$ {cite}`balle2018improving`; the check flags a measured shift more than 3
# standard errors above $\mu^*$.

# %%
broken_rows = audit.audit_all(
    audit.broken_instances(DELTA, EPSILON), N_RUNS, seed=SEED + 7, alpha=ALPHA, delta=DELTA
)
for _, r in broken_rows.iterrows():
    assert r["flagged"] == r["broken"], (
        f"{r['name']}: flagged={r['flagged']} but broken={r['broken']}: {r.to_dict()}"
    )
    if not r["broken"]:
        below = r["eps_lb"] <= r["claim"] and r["eps_lb_one_run"] <= r["claim"]
        assert below, f"audit above a sound claim: {r.to_dict()}"
b = broken_rows.set_index("name")
frozen = b.loc["gc oscillating, frozen noise"]
caught = frozen["lb_flag"] and frozen["statistic"] == "closeness to +C0"
assert caught, f"frozen noise: the atom at the start should be caught: {frozen}"
for name in ("gc budget 2 of T=6 steps", "gc half the noise", "op classic formula, eps=10"):
    assert b.loc[name, "shift_flag"], f"{name}: the shift statistic should be out of range"
assert not b.loc["op classic formula, eps=10", "lb_flag"], (
    "a lower bound of 10 is out of reach of these runs"
)
checks = (("lower bound", "lb_flag"), ("one run", "one_run_flag"), ("shift", "shift_flag"))
broken_rows["caught by"] = [
    ", ".join(k for k, f in checks if r[f]) or "-" for _, r in broken_rows.iterrows()
]
shown = [
    "name",
    "claim",
    "eps_lb",
    "statistic",
    "eps_lb_one_run",
    "mu_hat",
    "mu_allowed",
    "excess_se",
    "caught by",
]
broken_table = broken_rows[shown]
classic_ratio = (
    acc.op_sigma(1.0, 10.0, DELTA, "analytic") / acc.op_sigma(1.0, 10.0, DELTA, "classic") - 1
)
report.glue("audit2_classic_pct", 100 * classic_ratio)
classic_true = priv.gaussian_epsilon(2.0 / acc.op_sigma(1.0, 10.0, DELTA, "classic"), DELTA)
assert classic_true > 10, (
    f"the classic formula should certify less than eps = 10 at delta = {DELTA}: {classic_true}"
)
report.glue("audit2_classic_true", classic_true)
report.glue("audit2_broken_table", broken_table.round(3), display=False)
report.glue("audit2_frozen_lb", float(frozen["eps_lb"]))
report.glue("audit2_short_excess", float(b.loc["gc budget 2 of T=6 steps", "excess_se"]))
report.glue("audit2_half_excess", float(b.loc["gc half the noise", "excess_se"]))
report.glue("audit2_classic_excess", float(b.loc["op classic formula, eps=10", "excess_se"]))
report.glue(
    "audit2_classic_shift_eps", float(b.loc["op classic formula, eps=10", "eps_gaussian_hat"])
)

# %% tags=["nbval-check-output"]
print(broken_table.round(3).to_string(index=False))

# %% [markdown]
# ```{glue:} audit2_broken_table
# ```
#
# Every broken variant is flagged and none of the sound twins is (asserted); the last column names
# the checks that caught each. Frozen noise leaves an atom at the start: the closeness statistic
# separates it and the Clopper-Pearson bound alone reaches {glue:text}`audit2_frozen_lb:.2f`, above
# the claimed $\varepsilon$. The cut-short budget and half the noise move the release further than
# the claim allows, by {glue:text}`audit2_short_excess:.0f` and {glue:text}`audit2_half_excess:.0f`
# standard errors of the shift. The classic formula at $\varepsilon = 10$ is the subtle one. A lower
# bound of 10 is out of reach of any feasible number of runs, but the shift statistic sees the
# {glue:text}`audit2_classic_pct:.1f` % shortfall of noise ({glue:text}`audit2_classic_excess:.1f`
# standard errors; the measured shift is worth $\varepsilon \approx$
# {glue:text}`audit2_classic_shift_eps:.2f`). A lower bound catches a claim that is wrong by a lot;
# a claim that is wrong by a little needs a statistic that uses the mechanism's known shape.
#
# ## The DP-SGD baseline: does the Opacus accountant survive a small-data audit?
#
# The DP-SGD baseline (`companion.methods.dpsgd.train_dp`) trains with Opacus
# {cite}`yousefpour2021opacus` (version {glue:}`audit2_opacus` here), Poisson sampling at rate $q =
# 1/\lceil n/B\rceil$, and reports the eps of Opacus' RDP accountant. A 2026 report (Opacus issues
# #571 and #819; arXiv 2605.15648) states that Opacus 1.0-1.6 divides the noisy gradient sum by a
# floor-based expected batch size $\lfloor nq\rfloor$ while the accountant treats the sum itself as
# the released quantity, so that on very small data $\varepsilon$ is under-reported. We test this
# rather than assume it. $D$ holds $n$ points with input 0 (no gradient for a bias-free linear
# model). $D'$ adds one canary whose clipped gradient always points along $(1,-1)$. The baseline's
# own `train_dp` runs {glue:}`audit2_dp_runs` times on each, at a per-example budget of `EPSILON`
# ($k = 1$, four steps, $B = 128$, so $q = 1$). Two statistics are audited: the projection on
# $(1,-1)/\sqrt2$, and the spread across it, $-|w\cdot(1,1)|/\sqrt 2$, which only the noise reaches.
# The named statistic is the ratio of the noise sd without and with the canary. The accountant
# analyses noise that does not depend on the data, i.e. a ratio of 1.

# %%
dp_rows = pd.DataFrame(
    [dpsgd_audit.dpsgd_audit(n, DP_RUNS, EPSILON, seed=SEED, alpha=ALPHA) for n in DP_SIZES]
)
first = dp_rows.iloc[0]
lo, hi = first["sd_ratio_ci"]
gap = abs(math.log(first["sd_ratio"] / first["expected_sd_ratio"]))
assert gap < 4 / math.sqrt(DP_RUNS - 1), f"the noise sd ratio should be (n+1)/n: {first.to_dict()}"
assert first["scale_flag"], (
    "on the smallest data set the noise scale must differ between neighbours"
)
verdict = "exceeds" if first["lb_flag"] else "stays below"
shown = [
    "n",
    "n_with_canary",
    "claim",
    "eps_lb_projection",
    "eps_lb_spread",
    "eps_lb_one_run",
    "sd_ratio",
    "expected_sd_ratio",
]
dp_table = dp_rows[shown]
report.glue("audit2_dp_table", dp_table.round(3), display=False)
report.glue("audit2_dp_claim", float(first["claim"]))
report.glue("audit2_dp_lb", float(first["eps_lb"]))
report.glue("audit2_dp_sd", float(first["sd_ratio"]))
report.glue("audit2_dp_lo", float(lo))
report.glue("audit2_dp_hi", float(hi))
report.glue("audit2_dp_verdict", verdict)
report.glue("audit2_dp_z", float(first["noise_multiplier"]))
report.glue("audit2_opacus", importlib.metadata.version("opacus"))

# %% tags=["nbval-check-output"]
print(dp_table.round(3).to_string(index=False))
print(f"n = {int(first['n'])}: the lower bound {verdict} the accountant's eps")

# %% [markdown]
# ```{glue:} audit2_dp_table
# ```
#
# The report's mechanism is confirmed. With $n = 1$ point in $D$ and 2 in $D'$, the noise sd of the
# release differs between the neighbours by a factor {glue:text}`audit2_dp_sd:.2f` (95 % interval
# {glue:text}`audit2_dp_lo:.2f`-{glue:text}`audit2_dp_hi:.2f`, which excludes 1). Dividing the noisy
# sum by the data set's own size predicts $(n+1)/n = 2$, and the measured ratio agrees with that
# within four standard errors (both asserted). The accountant (noise multiplier
# {glue:text}`audit2_dp_z:.2f` for $\varepsilon_1 =$ {glue:text}`audit2_dp_claim:.2f`) analyses the
# undivided sum, whose noise is the same on both sides. With {glue:}`audit2_dp_runs` runs per side
# the Clopper-Pearson lower bound is {glue:text}`audit2_dp_lb:.2f`, which
# {glue:text}`audit2_dp_verdict` the accountant's $\varepsilon$. Between two Gaussians of different
# variance the privacy loss is unbounded in the tails, so the true $\varepsilon$ at $\delta =
# 10^{-5}$ can be far larger than what a few hundred runs can prove. The effect fades as $(n+1)/n
# \to 1$ (FULL adds $n$ = 3, 9 and 99). It matters where $\lfloor nq\rfloor$ changes between
# neighbours, i.e. for very small data, and for the unlearning comparison $D$ versus $D \setminus
# D_f$ whenever $|D_f|$ is a noticeable share of a batch. A fix that keeps the accountant valid
# divides by a constant that does not depend on the data (the batch size $B$ itself).
#
# ## Why not the challenge's estimator?
#
# The NeurIPS 2023 unlearning challenge scores each forget example with a plug-in $\varepsilon$
# estimate from 512 unlearned and 512 retrained models ({cite}`triantafillou2024neurips`;
# `companion.metrics.epsilon.challenge_epsilons`). It takes the best of tens of thousands of
# threshold rules, measured on the same samples, with no confidence limits. On two *identical*
# distributions it reads about {glue:text}`audit2_null_mean:.1f`, not 0. On the releases of gradient
# clipping at a certified $\varepsilon$ = `EPSILON` it gives:

# %%
gc_inst = [
    i for i in audit.certified_instances((EPSILON,), DELTA) if i.method == "gradient_clipping"
][0]
pa, pb = audit.releases(gc_inst, 512, seed=SEED + 99)
plug_in = float(eps_metrics.challenge_epsilons(pa[:, None], pb[:, None], delta=DELTA)[0])
rng = np.random.default_rng(SEED)
null = eps_metrics.challenge_epsilons(
    rng.normal(0, 1, (512, 8)), rng.normal(0, 1, (512, 8)), delta=DELTA
)
assert null.min() > 0.5, (
    "identical distributions should read well above 0 (the estimator's noise floor)"
)
report.glue("audit2_plug_in", plug_in)
report.glue("audit2_null_mean", float(null.mean()))
report.glue("audit2_gc_claim", float(gc_inst.claim))

# %% tags=["nbval-check-output"]
print(
    f"plug-in eps on the gc releases: {plug_in:.2f} (certified {gc_inst.claim:.2f}); "
    f"on identical samples: {null.mean():.2f}"
)

# %% [markdown]
# The plug-in reads {glue:text}`audit2_plug_in:.2f` against a certificate of
# {glue:text}`audit2_gc_claim:.2f`, and {glue:text}`audit2_null_mean:.2f` on two identical samples.
# It is a noisy score, biased upward at small $\varepsilon$ and saturating near $\ln N$ at large
# $\varepsilon$. It is neither an upper nor a lower bound, so it cannot be compared with a
# certificate. The Clopper-Pearson bound can.


# %%
def cp_max(n: int) -> float:
    p = 1 - (ALPHA / 2) ** (1 / n)
    return math.log((1 - DELTA - p) / p)


n10 = next(n for n in (int(1.05**k) for k in range(100, 400)) if cp_max(n) >= 10)
one_model = priv.gaussian_epsilon(float(gc1["mu_hat"].iloc[0]) / math.sqrt(100), DELTA)
perfect = eps_metrics.empirical_epsilon_lower_bound(
    np.arange(1024.0) + 2000, np.arange(1024.0), DELTA, ALPHA
)["eps_lb"]
assert abs(cp_max(512) - perfect) < 1e-9, (cp_max(512), perfect)
assert 5e4 < n10 < 2e5 and one_model < 0.1 * gc1_shift, (n10, one_model)
report.glue("audit2_ex_cp512", cp_max(512))
report.glue("audit2_ex_n10", n10)
report.glue("audit2_ex_one_model", one_model)

# %% [markdown]
# ## Summary
#
# - On the worst-case instance every certified method passes: both lower bounds (Clopper-Pearson
#   over many runs and the one-run audit, 95 %) stay below the certified $\varepsilon$. Their ratio
#   to it is at most {glue:text}`audit2_tight_max:.2f`. The remaining gap is mostly the audit's:
#   measuring error rates near $\delta = 10^{-5}$ takes far more runs.
# - Frozen noise, a noisy phase cut short, and half the noise are caught by the lower bound or by
#   the shift statistic. The classic formula at $\varepsilon = 10$ is caught only by the shift
#   statistic.
# - Opacus' accountant does not describe the mechanism Opacus runs on very small data: the noise
#   scale depends on the data set's size. On our baseline's configuration the lower bound
#   {glue:text}`audit2_dp_verdict` the reported $\varepsilon$ ({ref}`cert-dpsgd-normalisation`).
# - Departures: the audit runs on the analyses' worst-case instance
#   ({ref}`audit-worst-case-instance`), the one-run audit's canaries live in separate models
#   ({ref}`audit-one-run-canaries`), and the challenge estimator runs on the CPU in float64
#   ({ref}`eval-challenge-cpu`).
#
# ## Exercises
#
# 1. Why must the threshold be chosen on one half of the runs and evaluated on the other?
# 2. With 0 errors on $n$ evaluation runs per side, what is the largest $\varepsilon_{lb}$ the
#    Clopper-Pearson audit can prove at 95 %? How many runs would a lower bound of 10 need?
# 3. The one-run audit here uses one model per canary. What would change with all canaries inside
#    one model?
#
# ```{admonition} Solutions
# :class: dropdown
# 1. The best of many rules, measured on the same runs, overstates its own separation (the challenge
#    estimator's noise floor is exactly this). Choosing on one half and counting on the other gives
#    counts of a rule fixed in advance, which is what the Clopper-Pearson limits assume.
# 2. $\mathrm{FPR}_u = \mathrm{FNR}_u = p = 1 - (\alpha/2)^{1/n}$ and $\varepsilon_{lb} =
#    \ln\frac{1-\delta-p}{p}$, about $\ln(n/3.7)$: {glue:text}`audit2_ex_cp512:.2f` for $n = 512$. A
#    bound of 10 needs $n =$ {glue:}`audit2_ex_n10` runs per side on the evaluation half with
#    *perfect* separation, and more when the distributions overlap.
# 3. Each of $m$ canaries would move the start by $2C_0/\sqrt m$ (the start must stay in the $C_0$
#    ball), so the per-canary shift, and with it the provable $\varepsilon$, shrinks by $\sqrt m$:
#    with $m = 100$ canaries the Gaussian-mechanism $\varepsilon$ of one canary at a certified
#    $\varepsilon = 1$ is only {glue:text}`audit2_ex_one_model:.3f`. One run per canary is what
#    makes the one-run audit informative here.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
