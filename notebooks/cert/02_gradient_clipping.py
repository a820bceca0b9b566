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
# # Gradient clipping
#
# The first of the paper's two algorithms {cite}`koloskova2025certified` fine-tunes the trained
# model on the retain set with clipped gradients and Gaussian noise for $T$ steps. Its analysis is
# privacy amplification by iteration {cite}`feldman2018privacy`: the two chains, started from $A(D)$
# and from $A(D\setminus D_f)$, see the same retain data, so their only difference is where they
# start, and every noisy step blurs that difference.
#
# **This page reproduces**
# - the update rule and Theorem A (the shifted-Rényi bound), with the closed-form noise checked
#   against the general sum;
# - the choice of $T$ and the check that it minimises the bound;
# - the table of $T$ and $\sigma$ for every gradient-clipping configuration of the paper's Figures
#   1-4 (it must equal the values recomputed from the authors' configurations,
#   {ref}`cert-recomputed-accountant`);
# - the conversion of the Rényi bound to $(\varepsilon,\delta)$, both as the reference code does it
#   and correctly for a bound that grows with the order $\alpha$
#   {cite}`mironov2017renyi,balle2020hypothesis`, and what the paper's "$\varepsilon = 1$" really
#   certifies.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from companion import config, data, models, plotting, report, stacked
from companion.reported import cert as rep
from companion.theory import certified as acc
from companion.theory import privacy as priv

# %% tags=["parameters"]
PROFILE = "quick"
SEED = 0
DEVICE = "auto"
DATA_ROOT = ""
EPSILON = 1.0
DELTA = 1e-5
EPSILON_R = 1.0
N_SAMPLES = 200

# %%
ctx = config.resolve(
    PROFILE,
    SEED,
    DEVICE,
    DATA_ROOT,
    EPSILON=EPSILON,
    DELTA=DELTA,
    EPSILON_R=EPSILON_R,
    N_SAMPLES=N_SAMPLES,
)
print(report.banner(ctx))
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## The algorithm
#
# Let $\mathrm{clip}(v, C) = v\min(1, C/\|v\|_2)$, applied to the **whole parameter vector**.
#
# ```{prf:algorithm} Gradient clipping (noisy phase)
# :label: cert-alg-gc
# **Inputs** trained model $\hat x = A(D)$, retain set $D_r$, radii $C_0, C_1$, step size $\gamma$,
# weight decay $\lambda$ with $\gamma\lambda < 1$, noise $\sigma$, steps $T$.
#
# 1. $x_0 = \mathrm{clip}(\hat x, C_0)$
# 2. For $t = 0, \dots, T-1$: draw a mini-batch of $D_r$, let $g_t$ be the gradient of its mean
#    cross-entropy, and set
#    $x_{t+1} = x_t - \gamma\,(\mathrm{clip}(g_t, C_1) + \lambda x_t) + \xi_t$,
#    $\xi_t \sim \mathcal N(0, \sigma^2 I)$ drawn **afresh** at every step.
# 3. Continue with any amount of noiseless fine-tuning on $D_r$ (post-processing).
# ```
#
# ```{prf:theorem} Theorem A (shifted-Rényi bound; the form the reference accountant computes)
# :label: cert-thm-gc
# With $\rho = 1 - \gamma\lambda$, the Rényi divergence of order $\alpha$ between the outputs of
# {prf:ref}`cert-alg-gc` started from any two models is at most $\alpha\,\varepsilon_R$, where
#
# $$
# \varepsilon_R = \frac{\tfrac12\left[\rho^T\,2C_0 + \sum_{t=0}^{T-1}\rho^{T-1-t}\,2\gamma
# C_1\right]^2}{\sum_{t=0}^{T-1}\rho^{2(T-1-t)}\,\sigma_t^2}.
# $$
#
# For a constant $\sigma$ and $\lambda > 0$, with $c = \rho^T$, the noise that achieves a target
# $\varepsilon_R$ is
#
# $$
# \sigma^2 = \frac{\left[2C_0 c + \tfrac{2C_1}{\lambda}(1 - c)\right]^2\,\gamma\lambda(2 -
# \gamma\lambda)}{2\varepsilon_R\,(1 - c^2)}, \qquad \lambda = 0:\ \ \sigma^2 = \frac{(2C_0 +
# 2\gamma C_1 T)^2}{2\varepsilon_R T}.
# $$
# ```
#
# *Derivation.* The two chains start at most $2C_0$ apart. One step maps $x \mapsto \rho x -
# \gamma\,\mathrm{clip}(g, C_1)$; the clipped gradients of the two chains differ by at most $2\gamma
# C_1$ after scaling, and the weight decay shrinks the distance by $\rho$. Privacy amplification by
# iteration lets the analysis move a "shift" $s_t$ from one chain to the other at step $t$, at a
# Rényi cost of $\alpha s_t^2/(2\sigma_t^2)$ (the divergence between two Gaussians $s_t$ apart),
# provided the shifts close the whole distance by step $T$: $\sum_t \rho^{T-1-t} s_t = \rho^T 2C_0 +
# \sum_t\rho^{T-1-t}2\gamma C_1$. Minimising $\sum_t s_t^2/(2\sigma_t^2)$ under that constraint
# (Cauchy-Schwarz) gives the ratio above. The closed forms are the geometric sums
# $\sum_t\rho^{T-1-t} = (1 - c)/(\gamma\lambda)$ and $\sum_t \rho^{2(T-1-t)} = (1 -
# c^2)/(\gamma\lambda(2 - \gamma\lambda))$.
#
# **Check.** On random settings the closed form, plugged back into the general sum, returns the
# target $\varepsilon_R$; the $\lambda \to 0$ limit of the $\lambda > 0$ formula is the $\lambda =
# 0$ formula with $2\varepsilon_R T$ (the reference code has $4\varepsilon_R T$ there, $\sqrt 2$ too
# little noise; no shipped configuration has $\lambda = 0$).

# %%
worst = 0.0
for _ in range(N_SAMPLES):
    c0, c1, g = 10 ** rng.uniform(-2, 1.5), 10 ** rng.uniform(-2, 2), 10 ** rng.uniform(-4, -1)
    lam, er, T = rng.uniform(0, 0.99) / g, 10 ** rng.uniform(-2, 2), int(rng.integers(1, 300))
    sigma = acc.gc_sigma(er, T, g, lam, c0, c1)
    worst = max(worst, abs(acc.pabi_eps_r(c0, c1, g, lam, sigma, T) / er - 1))
limit = abs(
    acc.gc_sigma(1.0, 20, 1e-2, 1e-9, 0.3, 2.0) / acc.gc_sigma(1.0, 20, 1e-2, 0.0, 0.3, 2.0) - 1
)
if worst > 1e-9 or limit > 1e-6:
    raise AssertionError(f"closed form vs general sum: {worst:.2e}; lambda -> 0 limit: {limit:.2e}")
report.glue("cert2_closed_form_gap", worst)
print(
    f"{N_SAMPLES} random settings: largest relative gap {worst:.1e}; lambda->0 limit gap "
    f"{limit:.1e}"
)

# %% [markdown]
# ## How many noisy steps
#
# At $\lambda = 0$ the noise needed is $\sigma^2 \propto (2C_0 + 2\gamma C_1 T)^2/T$: too few steps
# and the start gap $2C_0$ must be covered by little noise; too many and the drift $2\gamma C_1$ per
# step accumulates. Setting the derivative to zero gives $T^\star = C_0/(\gamma C_1)$, and the
# reference code uses $T = \lceil C_0/(\gamma C_1)\rceil$. With weight decay it switches to $T' =
# \lceil \log(2\lambda C_0/C_1)/(\gamma\lambda)\rceil$ when that is positive and smaller: once
# $\rho^T 2C_0$ has decayed below the drift's fixed point $2C_1/\lambda$, more steps buy nothing.
#
# **Check.** $T^\star$ minimises the $\lambda = 0$ noise on a fine grid, for random settings.

# %%
for _ in range(N_SAMPLES):
    c0, c1, g = 10 ** rng.uniform(-2, 1), 10 ** rng.uniform(-2, 2), 10 ** rng.uniform(-4, -1)
    t_star = c0 / (g * c1)
    t = np.r_[t_star, np.geomspace(t_star / 50, t_star * 50, 1001)]
    noise = (2 * c0 + 2 * g * c1 * t) ** 2 / t  # proportional to sigma^2 at lambda = 0
    if noise[0] > noise[1:].min() * (1 + 1e-12):
        raise AssertionError("T* does not minimise the lambda = 0 noise")
print(f"T* = C0/(gamma C1) minimises the noise on all {N_SAMPLES} random settings")

# %% [markdown]
# ## The paper's configurations
#
# Every gradient-clipping configuration of Figures 1-4, with the $T$ and $\sigma$ recomputed from
# the authors' run configurations and formulas (columns marked "reference";
# {ref}`cert-recomputed-accountant`) next to ours. The cell fails if any differs beyond the printed
# precision.

# %% tags=["nbval-check-output"]
rows = []
for fig_, c0, c1, g, lam, er, T, sigma in rep.GC_TABLE:
    t_ours = acc.gc_steps(c0, c1, g, lam)
    s_ours = acc.gc_sigma(er, t_ours, g, lam, c0, c1)
    tol = 0.5 * 10 ** -len(repr(float(sigma)).split(".")[1]) + 1e-12
    rows.append(
        {
            "figure": fig_,
            "C0": c0,
            "C1": c1,
            "gamma": g,
            "lambda": lam,
            "eps_R": er,
            "T (reference)": T,
            "T (ours)": t_ours,
            "sigma (reference)": sigma,
            "sigma (ours)": round(s_ours, 5),
            "match": t_ours == T and abs(s_ours - sigma) <= tol,
        }
    )
gc_table = pd.DataFrame(rows)
if not gc_table["match"].all() or (gc_table["lambda"] == 0).any():
    raise AssertionError(
        f"accountant differs from the reference values on:\n{gc_table[~gc_table['match']]}"
    )
report.glue("cert2_n_configs", len(gc_table))
report.glue("cert2_gc_table", gc_table, display=False)
d_cifar = sum(p.numel() for p in models.build("tiny_cnn", (3, 32, 32), 10, SEED).parameters())
cifar = gc_table[gc_table["figure"] == "Fig. 1 CIFAR-10"]
noise_over_c0 = cifar["sigma (ours)"] * math.sqrt(d_cifar) / cifar["C0"]
report.glue("cert2_sigma_median", float(gc_table["sigma (ours)"].median()))
report.glue("cert2_d_cifar", d_cifar)
report.glue("cert2_noise_over_c0_min", float(noise_over_c0.min()))
report.glue("cert2_noise_over_c0_max", float(noise_over_c0.max()))
report.glue("cert2_n_T1", int((gc_table["T (ours)"] == 1).sum()))
print(
    f"{len(gc_table)} configurations, T and sigma as in the reference values: "
    f"{bool(gc_table['match'].all())}; "
    f"{int((gc_table['T (ours)'] == 1).sum())} with T = 1; CIFAR-10 noise norm / C0 from "
    f"{noise_over_c0.min():.2f} to {noise_over_c0.max():.0f}"
)

# %% [markdown]
# All {glue:}`cert2_n_configs` configurations match (source: {cite}`koloskova2025certified`'s
# configuration files, recomputed with the authors' formulas; {ref}`cert-recomputed-accountant`).
#
# ```{glue:} cert2_gc_table
# ```
#
# Two remarks. The noise is small per coordinate (median $\sigma =
# ${glue:text}`cert2_sigma_median:.4f`) because the model was first shrunk to a ball of radius
# $C_0$; but on the {glue:}`cert2_d_cifar`-parameter CIFAR network the noise norm $\sigma\sqrt d$ is
# {glue:text}`cert2_noise_over_c0_min:.1f` to {glue:text}`cert2_noise_over_c0_max:.0f` times $C_0$
# for the Figure 1 CIFAR-10 settings: at least as large as the clipped model. And
# {glue:}`cert2_n_T1` of the configurations take $T = 1$: a single noisy step, after which
# everything is fine-tuning.
#
# ## From Rényi to $(\varepsilon, \delta)$
#
# ```{prf:theorem} RDP to approximate DP (Balle et al. 2020; Canonne et al.)
# :label: cert-thm-conversion
# If the Rényi divergence of order $\alpha$ is at most $D(\alpha)$ in both directions, the pair is
# $(\varepsilon, \delta)$-close with $\varepsilon = \min_{\alpha > 1}\, D(\alpha) -
# \frac{\log\delta + \log\alpha}{\alpha - 1} + \log\frac{\alpha - 1}{\alpha}$.
# ```
#
# Theorem A gives $D(\alpha) = \alpha\,\varepsilon_R$: the bound **grows with the order**. The
# reference code plugs in $D(\alpha) = \varepsilon_R$, a constant, minimises over a grid that ends
# at $\alpha = $ {glue:text}`cert2_alpha_max:.0f`, and reports $\varepsilon \approx \varepsilon_R +
# $ {glue:text}`cert2_coded_offset:.4f` (at $\delta = $ `DELTA`). The paper's curves are run at
# $\varepsilon_R = 1$ and labelled $\varepsilon = 1$. The paper prints none of these values: the
# columns marked "reference" are our recomputation with the authors' formulas
# ({ref}`cert-rdp-conversion`).

# %% tags=["nbval-check-output"]
conv = []
for er, coded, alpha_dep, alpha in rep.CONVERSION_TABLE:
    ours_coded = priv.rdp_to_dp(er, DELTA, "as_coded")[0]
    # the recomputed values use the code's alpha grid (deviations.md#cert-rdp-conversion)
    ours_grid, a_grid = priv.rdp_to_dp(er, DELTA, alphas=priv.CODED_ALPHAS)
    ours_cont, a_cont = priv.rdp_to_dp(er, DELTA)
    conv.append(
        {
            "eps_R": er,
            "as coded (reference)": coded,
            "as coded (ours)": round(ours_coded, 4),
            "alpha-dependent (reference)": alpha_dep,
            "alpha-dependent, code's grid (ours)": round(ours_grid, 3),
            "alpha-dependent, exact min (ours)": round(ours_cont, 3),
            "best alpha (reference)": alpha,
            "best alpha, code's grid (ours)": round(a_grid, 2),
            "best alpha, exact (ours)": round(a_cont, 2),
        }
    )
    if (
        abs(ours_coded - coded) > 5e-5
        or abs(ours_grid - alpha_dep) > 0.006 * alpha_dep
        or ours_cont > ours_grid + 1e-12
        or abs(a_grid - alpha) > 0.01
    ):
        raise AssertionError(f"conversion differs from the reference values at eps_R = {er}")
conv = pd.DataFrame(conv).set_index("eps_R")
report.glue("cert2_conv_table", conv, display=False)
true_eps = priv.rdp_to_dp(EPSILON_R, DELTA)[0]
coded_eps, coded_alpha = priv.rdp_to_dp(EPSILON_R, DELTA, "as_coded")
if coded_alpha != priv.CODED_ALPHAS.max():
    raise AssertionError(
        "the code's constant-in-alpha conversion should sit at the edge of its grid"
    )
report.glue("cert2_true_eps", true_eps)
report.glue("cert2_coded_eps", coded_eps)
report.glue("cert2_coded_offset", coded_eps - EPSILON_R)
report.glue("cert2_alpha_max", float(priv.CODED_ALPHAS.max()))
print(
    f"eps_R = {EPSILON_R:g}: the code reports eps = {coded_eps:.4f} (alpha = {coded_alpha:g}); the "
    f"bound certifies {true_eps:.3f}"
)

# %% [markdown]
# ```{glue:} cert2_conv_table
# ```
#
# At `EPSILON_R` $= 1$ the code reports $\varepsilon = ${glue:text}`cert2_coded_eps:.4f` while the
# bound it computes certifies only $\varepsilon = ${glue:text}`cert2_true_eps:.3f` at
# $\delta = 10^{-5}$. (The "exact min" column minimises over a continuous $\alpha$; it is never
# larger than the grid value.) The other way round: the $\varepsilon_R$ a true target needs, and how
# much more noise that is.

# %%
req = pd.DataFrame(
    [
        {
            "target eps": e,
            "eps_R needed (reference)": r,
            "eps_R needed (ours)": priv.required_eps_r(e, DELTA),
            "sigma multiplier vs eps_R = 1": math.sqrt(1 / priv.required_eps_r(e, DELTA)),
        }
        for e, r in rep.REQUIRED_EPS_R
    ]
).set_index("target eps")
if not np.allclose(req.iloc[:, 1], req.iloc[:, 0], rtol=6e-4):
    raise AssertionError("required eps_R differs from the reference values")
report.glue("cert2_req_table", req.round(5), display=False)
report.glue("cert2_needed_eps_r", priv.required_eps_r(EPSILON, DELTA))
report.glue("cert2_sigma_mult", math.sqrt(EPSILON_R / priv.required_eps_r(EPSILON, DELTA)))
er_grid = np.geomspace(1e-3, 100, 60)
with plotting.house_style():
    fig, ax = plt.subplots()
    ax.loglog(
        er_grid,
        [priv.rdp_to_dp(x, DELTA)[0] for x in er_grid],
        label="bound alpha * eps_R (correct)",
    )
    ax.loglog(
        er_grid,
        [priv.rdp_to_dp(x, DELTA, "as_coded")[0] for x in er_grid],
        "--",
        label="constant eps_R (reference code)",
    )
    ax.set(xlabel="Renyi bound eps_R", ylabel=f"certified eps at delta = {DELTA:g}")
    ax.legend()
report.glue("cert2_fig_conversion", fig, display=False)

# %% [markdown]
# ```{glue:} cert2_req_table
# ```
#
# ```{glue:figure} cert2_fig_conversion
# :name: cert2-fig-conversion
# The $\varepsilon$ certified by a Rényi bound $\varepsilon_R$: correctly (solid) and as the
# reference code computes it (dashed).
# ```
#
# A true $\varepsilon = $ `EPSILON` certificate needs $\varepsilon_R =
# ${glue:text}`cert2_needed_eps_r:.4f`, i.e. {glue:text}`cert2_sigma_mult:.2f` times the noise of
# the paper's runs. The method `gradient_clipping` therefore has `calibration="theorem"` (this
# corrected calibration) as its default and `calibration="as_coded"` to reproduce the paper; its log
# always reports both the corrected $\varepsilon$ and the code's value for the run's actual noise.
# Chapter 4 runs both.
#
# ## The update, from scratch
#
# The package's vectorised engine against a plain PyTorch loop of {prf:ref}`cert-alg-gc` with the
# same noise draws (full-batch gradients so that the batch order cannot differ).

# %%
task = data.load_task("digits", forget="random:100", seed=SEED)
net = models.build("tiny_mlp", task.input_shape, task.num_classes, seed=SEED)
c0, c1, g, lam, T, sig = 1.0, 0.5, 0.05, 2.0, 4, 0.01
engine = stacked.run_stacked(
    net,
    [stacked.Plan("gradient_clipping", c0=c0, c1=c1, gamma=g, lam=lam, steps=T, sigma=sig)],
    task.retain,
    epochs=T,
    seed=SEED,
    batch_size=len(task.retain),
    show_progress=False,
)

# %%
x, y = task.retain.tensors()
ps = [p.detach().clone() for p in net.parameters()]
gen = torch.Generator().manual_seed(SEED)
# x0 = clip(x_hat, C0)
ps = [p * min(1.0, c0 / float(torch.cat([q.flatten() for q in ps]).norm())) for p in ps]
for _ in range(T):
    ps = [p.requires_grad_(True) for p in ps]
    out = torch.func.functional_call(
        net, dict(zip([n for n, _ in net.named_parameters()], ps)), (x,)
    )
    grads = torch.autograd.grad(F.cross_entropy(out, y), ps)
    scale = min(1.0, c1 / float(torch.cat([v.flatten() for v in grads]).norm()))
    ps = [
        (p - g * (scale * v + lam * p) + sig * torch.randn(p.shape, generator=gen)).detach()
        for p, v in zip(ps, grads)
    ]
gap = float(
    torch.cat(
        [(p - engine.params[n][0]).flatten() for p, (n, _) in zip(ps, net.named_parameters())]
    )
    .abs()
    .max()
)
if gap > 1e-5:
    raise AssertionError(f"engine and from-scratch loop differ by {gap}")
report.glue("cert2_scratch_gap", gap)
print(f"largest parameter difference after {T} noisy steps: {gap:.1e}")

# %%
lams = np.geomspace(0.1, 99, 200)
sig_lam = np.array(
    [acc.gc_sigma(1.0, acc.gc_steps(1.0, 10.0, 1e-2, lam_), 1e-2, lam_, 1.0, 10.0) for lam_ in lams]
)
limit_sigma = 2 * 1e-2 * 10.0 / math.sqrt(2 * 1.0)
if int(np.argmin(sig_lam)) != len(lams) - 1 or not limit_sigma < sig_lam.min() < 1.02 * limit_sigma:
    raise AssertionError(
        "exercise 1: the smallest sigma should sit at the largest weight decay, near the "
        "drift-only limit"
    )
report.glue("cert2_ex1_sigma_first", float(sig_lam[0]))
report.glue("cert2_ex1_sigma_min", float(sig_lam.min()))
report.glue("cert2_ex1_lam", float(lams[-1]))
report.glue("cert2_ex1_limit", limit_sigma)
report.glue("cert2_ex3_eps_r", priv.required_eps_r(5.0, DELTA))
report.glue("cert2_ex3_mult", math.sqrt(1.0 / priv.required_eps_r(5.0, DELTA)))

# %% [markdown]
# The two agree to {glue:text}`cert2_scratch_gap:.1e`.
#
# ## Summary
#
# - Our accountant reproduces $T$ and $\sigma$ for all {glue:}`cert2_n_configs` gradient-clipping
#   configurations of the paper; the closed form equals the general sum, and $T$ minimises the
#   unregularised bound.
# - **Discrepancy with the paper, explained.** The reference code converts the Rényi bound as if it
#   did not depend on $\alpha$. Theorem A's bound is $\alpha\varepsilon_R$, and with it the paper's
#   "$\varepsilon = 1$" runs ($\varepsilon_R = 1$) certify $\varepsilon \approx
#   ${glue:text}`cert2_true_eps:.2f` at $\delta = 10^{-5}$. A true $\varepsilon = 1$ needs
#   {glue:text}`cert2_sigma_mult:.2f`$\times$ the noise. We could not check the exact constant of
#   the theorem in the PDF; a third-party summary's hint ($\sigma^2 \propto
#   9\log(1/\delta)/(\varepsilon^2T)$, {ref}`cert-pabi-bound`) is consistent with an
#   $\alpha$-dependent conversion, i.e. with the corrected reading.
# - The $\lambda = 0$ formula of the code has $4\varepsilon_R T$ where $2\varepsilon_R T$ is right;
#   unused by the paper's configurations.
#
# ## Exercises
#
# 1. Using `acc.gc_sigma`, find for $C_0 = 1, C_1 = 10, \gamma = 10^{-2}$ the weight decay $\lambda$
#    that minimises $\sigma$ at $\varepsilon_R = 1$, with $T$ chosen by `acc.gc_steps`.
# 2. Why does the code's $\varepsilon$ sit at the edge of its $\alpha$ grid?
# 3. Re-run with `EPSILON = 5`. How close are the paper's runs to a true $\varepsilon = 5$
#    certificate?
#
# ```{admonition} Solutions
# :class: dropdown
# 1. Scan `lam` over `np.geomspace(0.1, 99, 200)`: $\sigma$ falls almost monotonically (it jumps up
#    slightly where $T'$ drops by one), from {glue:text}`cert2_ex1_sigma_first:.3f` at $\lambda =
#    0.1$ to {glue:text}`cert2_ex1_sigma_min:.3f` at the end of the scan, $\lambda = $
#    {glue:text}`cert2_ex1_lam:.0f`: the minimum sits at the largest weight decay allowed,
#    $\gamma\lambda \to 1$. There the contraction $\rho = 1 - \gamma\lambda$ erases the start gap
#    $2C_0$ in one step and only the drift is left: $\sigma \to 2\gamma C_1/\sqrt{2\varepsilon_R} =
#    $ {glue:text}`cert2_ex1_limit:.4f`.
# 2. With $D(\alpha)$ constant, $-(\log\delta + \log\alpha)/(\alpha - 1)$ keeps falling as $\alpha$
#    grows, so the minimum is at the largest order offered, $\alpha = $
#    {glue:text}`cert2_alpha_max:.0f` (asserted above).
# 3. `priv.required_eps_r(5, 1e-5)` is {glue:text}`cert2_ex3_eps_r:.3f`, so $\varepsilon_R = 1$ has
#    only {glue:text}`cert2_ex3_mult:.2f` times less noise than a true $\varepsilon = 5$ needs: the
#    paper's runs are close to a $(5, 10^{-5})$ certificate, far from $(1, 10^{-5})$.
# ```
#
# ## References
#
# ```{bibliography}
# :filter: docname in docnames
# ```
