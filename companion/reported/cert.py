"""Numbers quoted from Koloskova et al. (arXiv 2506.06985, ICML 2025) (see companion.reported).

The paper prints few numbers: its figures are curves. What can be compared exactly are the
accountant values its configurations imply (T and sigma of every setting of Figures 1-4, recomputed
from the authors' run configs and formulas: deviations.md#cert-recomputed-accountant), the Renyi ->
(eps, delta) conversions (deviations.md#cert-rdp-conversion) and the Figure 3 curves printed in the
authors' visualisation notebook.
"""

from . import Level, Reported, Setting

_S10 = (
    "Koloskova et al. 2025, the authors' run configs; T and sigma recomputed "
    "(deviations.md#cert-recomputed-accountant)"
)
_S33 = (
    "Koloskova et al. 2025, Theorem A's Renyi bound; the authors' conversion, recomputed "
    "(deviations.md#cert-rdp-conversion)"
)
_NB = "Koloskova et al. 2025, Figure 3, values printed in the authors' visualisation/final.ipynb"

REPORTED: dict[str, Reported] = {
    # Figure 1 / 2: gradient clipping configurations (eps_R = 1)
    "fig2/gc_cifar10/T": Reported(
        11, f"{_S10}, Figure 2 (C0 20, C1 10, gamma 1e-2, lambda 50)", 0, "steps"
    ),
    "fig2/gc_cifar10/sigma": Reported(0.2568, f"{_S10}, Figure 2", 5e-5, "sigma"),
    "fig1/gc_mnist_c1_10/T": Reported(
        6, f"{_S10}, Figure 1 MNIST (C0 0.01, C1 10, gamma 1e-4, lambda 750)", 0, "steps"
    ),
    "fig1/gc_mnist_c1_10/sigma": Reported(0.0078, f"{_S10}, Figure 1 MNIST", 5e-5, "sigma"),
    "fig1/gc_mnist_c1_100/T": Reported(
        1, f"{_S10}, Figure 1 MNIST (C0 0.01, C1 100, gamma 1e-4, lambda 10)", 0, "steps"
    ),
    "fig1/gc_mnist_c1_100/sigma": Reported(0.0283, f"{_S10}, Figure 1 MNIST", 5e-5, "sigma"),
    "fig1/gc_cifar10_c0_1_c1_1/T": Reported(
        93, f"{_S10}, Figure 1 CIFAR-10 (C0 1, C1 1, gamma 1e-3, lambda 50)", 0, "steps"
    ),
    "fig1/gc_cifar10_c0_1_c1_1/sigma": Reported(
        0.0125, f"{_S10}, Figure 1 CIFAR-10", 5e-5, "sigma"
    ),
    # Model clipping: steps to delta <= 1e-5 (eps = 1, delta_0 = 1)
    "fig1/mc_cifar10_c2_0.5/T": Reported(6, f"{_S10}, model clipping C2 = sigma = 0.5", 0, "steps"),
    "fig1/mc_cifar10_c2_0.625/T": Reported(
        9, f"{_S10}, model clipping C2 0.625, sigma 0.5", 0, "steps"
    ),
    "fig1/mc_cifar10_c2_0.975/T": Reported(
        36, f"{_S10}, model clipping C2 0.975, sigma 0.5", 0, "steps"
    ),
    "fig1/mc_mnist_c2_0.001/T": Reported(
        1, f"{_S10}, model clipping MNIST C2 0.001, sigma 0.01", 0, "steps"
    ),
    "fig1/mc_mnist_c2_0.01/T": Reported(
        6, f"{_S10}, model clipping MNIST C2 0.01, sigma 0.01", 0, "steps"
    ),
    "mc/worked_example/delta6": Reported(
        2.65e-8,
        "Koloskova et al. 2025, Theorem B recursion at C2 = sigma = 0.5 (Figure 1), eps 1, delta "
        "after step 6; recomputed (deviations.md#cert-recomputed-accountant)",
        5e-11,
        "delta",
    ),
    # Output perturbation
    "fig1/op/sigma_c0_0.01": Reported(
        0.0969, f"{_S10}, output perturbation C0 0.01 (classic calibration)", 5e-5, "sigma"
    ),
    # Renyi -> (eps, delta)
    "conv/as_coded/eps_r_1": Reported(
        1.0036, f"{_S33}: eps the code reports for eps_R = 1, delta 1e-5", 5e-5, "epsilon"
    ),
    "conv/alpha_dependent/eps_r_1": Reported(
        7.077, f"{_S33}: eps certified by eps_R = 1 when the bound is alpha eps_R", 5e-4, "epsilon"
    ),
    "conv/required_eps_r/eps_1": Reported(
        0.03056, f"{_S33}: eps_R needed for a true eps = 1, delta 1e-5", 5e-6, "eps_R"
    ),
    # DP-SGD group privacy (k = 225, eps = 50, delta = 1e-5)
    "dpsgd/delta1_as_coded": Reported(
        2.41e-27,
        "Koloskova et al. 2025, Figure 3 DP-SGD (k 225, eps 50): the authors' per-example delta, "
        "recomputed (deviations.md#cert-group-delta)",
        5e-30,
        "delta",
    ),
    "dpsgd/delta1_corrected": Reported(
        1.07e-29,
        "Koloskova et al. 2025, Figure 3 DP-SGD (k 225, eps 50): delta / (k e^((k-1) eps1)) "
        "(deviations.md#cert-group-delta)",
        5e-32,
        "delta",
    ),
    # Figure 3 (ResNet-18 features), printed validation accuracies
    "fig3/cifar10/retrain/e1": Reported(
        0.683, f"{_NB}, CIFAR-10 retrain, 1 epoch", 0.032, "fraction"
    ),
    "fig3/cifar10/retrain/e5": Reported(
        0.827, f"{_NB}, CIFAR-10 retrain, 5 epochs", 0.005, "fraction"
    ),
    "fig3/cifar10/retrain/e50": Reported(
        0.878, f"{_NB}, CIFAR-10 retrain, 50 epochs", 0.01, "fraction"
    ),
    "fig3/cifar10/dpsgd/e1": Reported(
        0.638, f"{_NB}, CIFAR-10 DP-SGD (group eps 50), 1 epoch", 0.014, "fraction"
    ),
    "fig3/cifar10/dpsgd/e5": Reported(0.769, f"{_NB}, CIFAR-10 DP-SGD, 5 epochs", 0.01, "fraction"),
    "fig3/cifar10/dpsgd/e50": Reported(
        0.872, f"{_NB}, CIFAR-10 DP-SGD, 50 epochs", 0.01, "fraction"
    ),
    "fig3/cifar100/retrain/e50": Reported(
        0.619, f"{_NB}, CIFAR-100 retrain, 50 epochs", 0.02, "fraction"
    ),
    "fig3/cifar100/dpsgd/e50": Reported(
        0.166, f"{_NB}, CIFAR-100 DP-SGD, 50 epochs", 0.06, "fraction"
    ),
}

# --- settings and levels (see companion.reported) ---
# Accountant values and conversions are exact (no data, no model): judged in any profile, their
# tolerance only absorbs the rounding of the printed value. The gradient-clipping T and sigma are
# those of the authors' conversion (eps_R = 1 read as eps = 1): 'as_coded'. Figure 3's
# accuracies: ResNet-18 features of CIFAR-10/100 with the three-layer network; DP-SGD as coded
# (the authors' per-example delta, deviations.md#cert-group-delta).
_EXACT = Setting(scale="exact")
SETTINGS: dict[str, Setting] = {
    "fig1/": _EXACT,
    "mc/": _EXACT,
    "conv/": _EXACT,
    "dpsgd/": _EXACT,
    "fig1/gc_": Setting(variant="as_coded", scale="exact"),
    "fig2/gc_": Setting(variant="as_coded", scale="exact"),
    "fig3/cifar10/": Setting("cifar10_features", "three_layer", None, "full"),
    "fig3/cifar10/dpsgd/": Setting("cifar10_features", "three_layer", "as_coded", "full"),
    "fig3/cifar100/": Setting("cifar100_features", "three_layer", None, "full"),
    "fig3/cifar100/dpsgd/": Setting("cifar100_features", "three_layer", "as_coded", "full"),
}

LEVELS: tuple[Level, ...] = (
    Level(
        "fig3/cifar10",
        "e50",
        frozenset({"retrain", "dpsgd"}),
        "at 50 epochs the two curves meet (87.8 vs 87.2 %): the figure shows DP-SGD catching up "
        "with retraining",
    ),
)

#: Every gradient-clipping configuration of Figures 1-4 (the authors' run configs) as
#: (figure, C0, C1, gamma, lambda, eps_R, T, sigma), with T and sigma recomputed from the authors'
#: formulas (deviations.md#cert-recomputed-accountant).
GC_TABLE_SOURCE = _S10
GC_TABLE: tuple[tuple[str, float, float, float, float, float, int, float], ...] = (
    ("Fig. 1 CIFAR-10", 0.1, 10, 1e-3, 1, 1, 10, 0.0892),
    ("Fig. 1 CIFAR-10", 0.1, 10, 1e-3, 50, 1, 10, 0.0773),
    ("Fig. 1 CIFAR-10", 0.1, 10, 1e-2, 1, 1, 1, 0.2814),
    ("Fig. 1 CIFAR-10", 0.1, 100, 1e-4, 50, 1, 10, 0.0882),
    ("Fig. 1 CIFAR-10", 0.1, 100, 1e-3, 200, 1, 1, 0.2546),
    ("Fig. 1 CIFAR-10", 0.1, 100, 1e-3, 50, 1, 1, 0.2758),
    ("Fig. 1 CIFAR-10", 1, 1, 1e-3, 50, 1, 93, 0.0125),
    ("Fig. 1 CIFAR-10", 1, 10, 1e-2, 50, 1, 5, 0.2757),
    ("Fig. 1 CIFAR-10", 1, 100, 1e-3, 500, 1, 5, 0.2757),
    ("Fig. 1/2 CIFAR-10", 20, 10, 1e-2, 50, 1, 11, 0.2568),
    ("Fig. 1 CIFAR-10", 20, 100, 1e-3, 500, 1, 11, 0.2568),
    ("Fig. 1 MNIST", 0.01, 10, 1e-4, 750, 1, 6, 0.0078),
    ("Fig. 1 MNIST", 0.01, 100, 1e-4, 10, 1, 1, 0.0283),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 1, 1e-3, 0.5, 1, 10, 0.0089),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 1, 1e-3, 10, 1, 10, 0.0087),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 1, 1e-2, 10, 1, 1, 0.0269),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 10, 1e-4, 0.5, 1, 10, 0.0089),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 10, 1e-4, 10, 1, 10, 0.0089),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 10, 1e-4, 100, 1, 10, 0.0087),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 10, 1e-3, 0.5, 1, 1, 0.0283),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 10, 1e-3, 10, 1, 1, 0.0281),
    ("Fig. 3 CIFAR-10 feat.", 0.01, 100, 1e-4, 100, 1, 1, 0.0281),
    ("Fig. 3 CIFAR-10/100 feat.", 0.01, 100, 1e-3, 500, 1, 1, 0.1485),
    ("Fig. 3 CIFAR-10/100 feat.", 0.1, 0.1, 1e-2, 10, 1, 30, 0.0085),
    ("Fig. 3 CIFAR-10/100 feat.", 1, 10, 1e-3, 500, 1, 10, 0.0257),
    ("Fig. 3 CIFAR-100 feat.", 0.01, 0.1, 1e-3, 10, 1, 70, 0.0023),
    ("Fig. 3 CIFAR-100 feat.", 0.01, 10, 1e-4, 500, 1, 10, 0.0077),
    ("Fig. 3 CIFAR-100 feat.", 0.1, 1, 1e-3, 100, 1, 30, 0.0085),
    ("Fig. 3 CIFAR-100 feat.", 1, 0.1, 1e-2, 10, 1, 53, 0.0085),
    ("Fig. 3 CIFAR-100 feat.", 1, 1, 1e-3, 100, 1, 53, 0.0085),
    ("Fig. 4 MNIST", 0.01, 10, 1e-4, 750, 0.1, 6, 0.0245),
    ("Fig. 4 MNIST", 0.01, 10, 1e-4, 750, 10, 6, 0.0025),
    ("Fig. 4 MNIST", 0.01, 100, 1e-4, 10, 0.1, 1, 0.0894),
    ("Fig. 4 MNIST", 0.01, 100, 1e-4, 10, 10, 1, 0.0089),
    ("Fig. 4 CIFAR-10", 1, 100, 1e-3, 500, 0.1, 5, 0.8718),
    ("Fig. 4 CIFAR-10", 0.1, 0.01, 0.1, 0.1, 10, 70, 0.0073),
    ("Fig. 4 CIFAR-10", 0.1, 10, 1e-3, 1, 10, 10, 0.0282),
    ("Fig. 4 CIFAR-10", 0.1, 10, 0.1, 0.1, 10, 1, 0.4915),
    ("Fig. 4 CIFAR-10", 0.1, 10, 0.1, 1, 10, 1, 0.4875),
    ("Fig. 4 CIFAR-10", 0.1, 100, 0.1, 1, 10, 1, 4.512),
    ("Fig. 4 CIFAR-10", 1, 0.1, 0.1, 1, 10, 30, 0.0270),
    ("Fig. 4 CIFAR-10", 1, 10, 0.1, 0.1, 10, 1, 0.890),
    ("Fig. 4 CIFAR-10", 10, 5, 0.01, 25, 10, 19, 0.0714),
    ("Fig. 4 CIFAR-10", 10, 0.1, 0.1, 1, 10, 53, 0.0267),
    ("Fig. 4 CIFAR-10", 1, 0.01, 0.1, 0.1, 100, 300, 0.0029),
    ("Fig. 4 CIFAR-10", 1, 0.1, 0.1, 0.1, 100, 70, 0.0230),
    ("Fig. 4 CIFAR-10", 1, 1, 0.1, 0.1, 100, 10, 0.0870),
    ("Fig. 4 CIFAR-10", 1, 1, 0.1, 1, 100, 7, 0.0702),
    ("Fig. 4 CIFAR-10", 1, 10, 0.1, 0.1, 100, 1, 0.2814),
    ("Fig. 4 CIFAR-10", 1, 10, 0.1, 1, 100, 1, 0.2687),
    ("Fig. 4 CIFAR-10", 10, 1, 0.1, 1, 100, 30, 0.0852),
    ("Fig. 4 CIFAR-10", 10, 100, 0.1, 0.1, 100, 1, 2.814),
    ("Fig. 4 CIFAR-10", 20, 1, 0.1, 1, 100, 37, 0.0854),
)

#: Model-clipping settings of Figure 1 (figure, C2, sigma, T to delta <= 1e-5 at eps = 1, delta_0 =
#: 1), T recomputed (deviations.md#cert-recomputed-accountant).
MC_TABLE: tuple[tuple[str, float, float, int], ...] = (
    ("Fig. 1 CIFAR-10", 0.2, 0.2, 6),
    ("Fig. 1 CIFAR-10", 0.5, 0.5, 6),
    ("Fig. 1 CIFAR-10", 0.625, 0.5, 9),
    ("Fig. 1 CIFAR-10", 0.975, 0.5, 36),
    ("Fig. 1 MNIST", 0.001, 0.01, 1),
    ("Fig. 1 MNIST", 0.01, 0.01, 6),
)

#: (eps_R, eps as coded, eps with the alpha-dependent bound, optimal alpha) at delta = 1e-5, and
#: (target eps, required eps_R), recomputed (deviations.md#cert-rdp-conversion).
CONVERSION_TABLE: tuple[tuple[float, float, float, float], ...] = (
    (0.1, 0.1036, 1.914, 10.6),
    (1, 1.0036, 7.077, 4.20),
    (10, 10.0036, 30.13, 2.00),
    (100, 100.0036, 166.0, 1.30),
)
REQUIRED_EPS_R: tuple[tuple[float, float], ...] = (
    (0.5, 0.00851),
    (1, 0.03056),
    (2, 0.1083),
    (5, 0.5510),
    (10, 1.783),
)
