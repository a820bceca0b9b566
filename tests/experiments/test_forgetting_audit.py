"""The audit protocol's ensembles: masks, targets and logits are consistent."""

import numpy as np
import pytest

from companion.experiments import forgetting_audit as fa


@pytest.fixture(scope="module")
def run():
    return fa.run_audit(
        fa.AuditConfig(
            task="digits",
            arch="tiny_mlp",
            pool=200,
            n_targets=40,
            n_models=8,
            epochs=2,
            finetune_epochs=1,
            forget_class=3,
            n_test=100,
        )
    )


def test_masks_and_targets(run):
    K, P = run.in_mask.shape
    assert (K, P) == (8, 200) and run.target.sum() == 40
    assert (run.in_mask[:4].sum(0) == 2).all() and (
        run.in_mask[4:].sum(0) == 2
    ).all()  # two balanced folds
    assert not (run.unlearned & run.never).any()
    assert ((run.unlearned | run.never) == run.target[None, :]).all()
    assert (run.pool_y[run.class_member.any(0)] == 3).all()


def test_logits_of_every_ensemble(run):
    for name in fa.ENSEMBLES:
        assert (
            run.logits_pool[name].shape == (8, 200, 10) and np.isfinite(run.logits_pool[name]).all()
        )
        assert run.logits_test[name].shape == (8, 100, 10)
    # fine-tuning starts from the originals and moves a little; retraining starts elsewhere
    o, f, r = (run.logits_pool[k] for k in ("original", "finetuned", "retrained"))
    assert 0 < np.abs(f - o).mean() < np.abs(r - o).mean()
    z, y = fa.pairs(run.logits_pool["original"], run.pool_y, run.unlearned)
    assert z.shape == (int(run.unlearned.sum()), 10) and y.shape == (int(run.unlearned.sum()),)


def test_bad_config():
    with pytest.raises(ValueError, match="n_models"):
        fa.AuditConfig(n_models=6)
    with pytest.raises(ValueError, match="n_targets"):
        fa.AuditConfig(pool=100, n_targets=100)
    with pytest.raises(ValueError, match="epochs"):
        fa.AuditConfig(epochs=0)
    with pytest.raises(ValueError, match="pool"):
        fa.run_audit(fa.AuditConfig(task="digits", pool=100_000, n_targets=10))
