"""Numbers quoted from Foster et al. (arXiv 2402.01401, TMLR 2025) (see companion.reported)."""

from . import Reported

REPORTED: dict[str, Reported] = {}

# --- method chapters 1-2 (notebooks/jit/01-02) ---
# What users of the reference code report when they run it as coded (spec jit.md section 13): not
# the paper's numbers, but the numbers the paper's own code produced for them.
_ISSUE3 = "jwf40/Information-Theoretic-Unlearning issue #3: authors' Google-Drive VGG16Cifar100 weights, script settings (as coded), forget {}; {} (spec jit.md s.13)"
REPORTED["issue3/rocket/reference/retain_test_acc"] = Reported(0.383, _ISSUE3.format("rocket", "RetainTestAcc 38.3"), 0.05, "fraction")
REPORTED["issue3/rocket/reference/test_acc"] = Reported(0.381, _ISSUE3.format("rocket", "TestAcc 38.1"), 0.05, "fraction")
REPORTED["issue3/mushroom/reference/retain_test_acc"] = Reported(0.321, _ISSUE3.format("mushroom", "RetainTestAcc 32.1"), 0.05, "fraction")
REPORTED["issue1/vgg_cifar100/original/retain_test_acc"] = Reported(
    0.649, "jwf40/Information-Theoretic-Unlearning issue #1: a user's VGG on CIFAR-100 before unlearning, RetainTestAcc 64.9 (spec jit.md s.13)",
    0.05, "fraction",
)
# --- end method chapters 1-2 ---
