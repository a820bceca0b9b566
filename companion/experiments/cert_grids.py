"""The hyperparameter grids of Koloskova et al.'s Figures 1 and 3, as the authors' run configs set
them (per dataset and method: one dict per setting). :mod:`companion.experiments.cert_curves` runs
them."""

from __future__ import annotations

#: Hyperparameter grids of Figures 1 and 3 (the authors' run configs), per dataset: one dict per
#: setting.
GRIDS: dict[str, dict[str, list[dict]]] = {
    "mnist": {
        "gradient_clipping": [
            dict(c0=0.01, c1=10.0, gamma=1e-4, lam=750.0),
            dict(c0=0.01, c1=100.0, gamma=1e-4, lam=10.0),
        ],
        "model_clipping": [
            dict(c0=7.0, c2=0.001, sigma=0.01, gamma=1e-4, lam=500.0),
            dict(c0=7.0, c2=0.001, sigma=0.01, gamma=1e-4, lam=900.0),
            dict(c0=7.0, c2=0.001, sigma=0.01, gamma=1e-2, lam=0.01),
            dict(c0=7.0, c2=0.01, sigma=0.01, gamma=1e-3, lam=900.0),
        ],
        "output_perturbation": [dict(c0=0.01)],
    },
    "cifar10": {
        "gradient_clipping": [
            dict(c0=c0, c1=c1, gamma=g, lam=lam)
            for c0, c1, g, lam in [
                (0.1, 10, 1e-3, 1),
                (0.1, 10, 1e-3, 50),
                (0.1, 10, 1e-2, 1),
                (0.1, 100, 1e-4, 50),
                (0.1, 100, 1e-3, 200),
                (0.1, 100, 1e-3, 50),
                (1, 1, 1e-3, 50),
                (1, 10, 1e-2, 50),
                (1, 100, 1e-3, 500),
                (20, 10, 1e-2, 50),
                (20, 100, 1e-3, 500),
            ]
        ],
        "model_clipping": [
            dict(c0=30.0, c2=c2, sigma=s, gamma=g, lam=lam)
            for c2, s, gl in [
                (0.2, 0.2, [(1e-2, 100)]),
                (0.5, 0.5, [(1e-3, 0), (1e-3, 10), (1e-2, 0), (1e-2, 100)]),
                (
                    0.625,
                    0.5,
                    [(1e-4, 0), (1e-4, 1), (1e-4, 10), (1e-4, 100), (1e-3, 100), (1e-2, 10)],
                ),
                (0.975, 0.5, [(1e-4, 1), (1e-4, 10)]),
            ]
            for g, lam in gl
        ],
        "output_perturbation": [dict(c0=0.01), dict(c0=0.1), dict(c0=1.0)],
    },
}
_FEAT_GC = [
    (0.01, 1, 1e-3, 0.5),
    (0.01, 1, 1e-3, 10),
    (0.01, 1, 1e-2, 10),
    (0.01, 10, 1e-4, 0.5),
    (0.01, 10, 1e-4, 10),
    (0.01, 10, 1e-4, 100),
    (0.01, 10, 1e-3, 0.5),
    (0.01, 10, 1e-3, 10),
    (0.01, 100, 1e-4, 100),
    (0.01, 100, 1e-3, 500),
    (0.1, 0.1, 1e-2, 10),
    (1, 10, 1e-3, 500),
]
_FEAT100_GC = [
    (0.01, 0.1, 1e-3, 10),
    (0.01, 1, 1e-3, 0.5),
    (0.01, 1, 1e-3, 10),
    (0.01, 10, 1e-4, 0.5),
    (0.01, 10, 1e-4, 10),
    (0.01, 10, 1e-4, 100),
    (0.01, 10, 1e-4, 500),
    (0.01, 100, 1e-3, 500),
    (0.1, 0.1, 1e-2, 10),
    (0.1, 1, 1e-3, 100),
    (1, 0.1, 1e-2, 10),
    (1, 1, 1e-3, 100),
    (1, 10, 1e-3, 500),
]
GRIDS["cifar10_features"] = {
    "gradient_clipping": [dict(c0=c0, c1=c1, gamma=g, lam=lam) for c0, c1, g, lam in _FEAT_GC]
}
GRIDS["cifar100_features"] = {
    "gradient_clipping": [dict(c0=c0, c1=c1, gamma=g, lam=lam) for c0, c1, g, lam in _FEAT100_GC]
}
