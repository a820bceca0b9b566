"""Tests of the ``jit`` method (Foster et al.): the loss, the two variants, the known answers of
spec ``jit.md`` section 14 and the zero-shot contract."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from companion import data, methods, models
from companion.methods.jit import auto_chunk, jit_loss, jit_unlearn, lipschitz_ratios, perturb
from companion.methods.jit_config import JitConfig, paper_settings, settings_for

torch.set_num_threads(1)


class Const(nn.Module):
    """f(x) = c, with a trainable c (the loss must be exactly zero)."""

    def __init__(self, d_out: int = 3) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.randn(d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c.expand(x.shape[0], -1)


def linear(d_in: int = 5, d_out: int = 3, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out).double()


def dropout_net(d_in: int = 6, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))


def params(m: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in m.parameters()])


@pytest.fixture(scope="module")
def task():
    return data.load_task("digits", forget="class:3", seed=0)


@pytest.fixture(scope="module")
def mlp(task):
    return models.build("mlp", task.input_shape, task.num_classes, seed=0)


# ---------------------------------------------------------------- the loss


def test_loss_is_zero_for_a_constant_network():
    x = torch.randn(4, 7)
    g = torch.Generator().manual_seed(0)
    for clamp in ("none", "batch_minmax", "per_sample"):
        loss = jit_loss(Const(), x, 0.5, 6, g, clamp=clamp)
        assert loss.item() == 0.0


def test_unsquared_ratio_has_a_finite_gradient_where_the_output_does_not_move():
    """A perturbation that leaves f(x) unchanged (here: every ReLU of the hidden layer dead) gives
    ||f(x) - f(x')|| = 0, where the norm's gradient is 0/0; the update must stay finite (the zero
    subgradient), and the ratio elsewhere must be the plain quotient of norms."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 3))
    with torch.no_grad():
        net[0].bias.fill_(-100.0)  # dead hidden layer: the output is the second layer's bias
    x = torch.randn(4, 7)
    loss = jit_loss(net, x, 0.5, 6, torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.item() == 0.0
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    m, x5 = linear(), torch.randn(4, 5, dtype=torch.float64)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    r = lipschitz_ratios(m, x5, 0.5, 6, g1)
    sq = lipschitz_ratios(m, x5, 0.5, 6, g2, squared=True)
    assert torch.allclose(r, sq.sqrt(), rtol=1e-12, atol=0)


def test_loss_is_positive_for_a_non_constant_network():
    m = linear()
    x = torch.randn(4, 5, dtype=torch.float64)
    loss = jit_loss(m, x, 0.5, 6, torch.Generator().manual_seed(0))
    assert loss.item() > 0


def test_linear_ratio_equals_norm_of_W_xi_over_norm_xi():
    """Spec 14: on f(x) = Wx + b in eval mode, each ratio is ||W xi|| / ||xi||, whatever sigma."""
    m = linear()
    x = torch.randn(4, 5, dtype=torch.float64)
    noise = torch.randn(6, 4, 5, dtype=torch.float64)
    for sigma in (1e-3, 0.3, 7.0):
        r = lipschitz_ratios(m, x, sigma, 6, noise=noise)
        xi = sigma * noise
        want = (xi @ m.weight.T).norm(dim=-1) / xi.norm(dim=-1)
        torch.testing.assert_close(r, want)
        rs = lipschitz_ratios(m, x, sigma, 6, noise=noise, squared=True)
        torch.testing.assert_close(rs, want**2)


def test_small_sigma_tends_to_the_jacobian_ratio():
    """Spec 14: with clamp='none' and sigma -> 0 the ratio tends to ||J u|| / ||u||."""
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x = torch.randn(2, 4, dtype=torch.float64)
    noise = torch.randn(5, 2, 4, dtype=torch.float64)
    jac = torch.stack([torch.autograd.functional.jacobian(m, x[i]) for i in range(2)])  # (B, 3, 4)
    want = torch.einsum("boi,nbi->nbo", jac, noise).norm(dim=-1) / noise.norm(dim=-1)
    err = [
        (lipschitz_ratios(m, x, s, 5, noise=noise) - want).abs().max().item()
        for s in (1e-1, 1e-3, 1e-5)
    ]
    assert err[2] < 1e-4 and err[2] < err[1] < err[0]


def test_batched_and_per_perturbation_computations_agree():
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)
    ).eval()
    x = torch.randn(5, 1, 6, 6)
    losses = []
    for chunk in (1, 3, 7, "auto"):
        g = torch.Generator().manual_seed(3)
        losses.append(lipschitz_ratios(m, x, 0.4, 7, g, chunk=chunk))
    for other in losses[1:]:
        torch.testing.assert_close(other, losses[0], rtol=1e-5, atol=1e-6)
    # and against a loop written out by hand, perturbation by perturbation
    g = torch.Generator().manual_seed(3)
    fx = m(x)
    loop = []
    for _ in range(7):
        xp = x + 0.4 * torch.randn(x.shape, generator=g)
        loop.append((fx - m(xp)).norm(dim=1) / (xp - x).flatten(1).norm(dim=1))
    torch.testing.assert_close(losses[0], torch.stack(loop), rtol=1e-5, atol=1e-6)


def test_perturb_clamps():
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    noise = torch.full((1, 2, 2), 10.0)
    assert perturb(x, noise, 1.0, "batch_minmax").max() == 3.0
    ps = perturb(x, -noise, 1.0, "per_sample")
    torch.testing.assert_close(ps[0], torch.tensor([[0.0, 0.0], [2.0, 2.0]]))
    torch.testing.assert_close(perturb(x, noise, 1.0, "none")[0], x + 10)


def test_denominator_is_the_actual_post_clamp_difference():
    m = linear()
    x = torch.rand(3, 5, dtype=torch.float64)
    noise = torch.randn(4, 3, 5, dtype=torch.float64)
    r = lipschitz_ratios(m, x, 2.0, 4, noise=noise, clamp="batch_minmax")
    d = perturb(x, noise, 2.0, "batch_minmax") - x
    torch.testing.assert_close(r, (d @ m.weight.T).norm(dim=-1) / d.norm(dim=-1))


def test_auto_chunk_changes_nothing_but_speed():
    torch.manual_seed(0)
    base = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)
    )
    xs = [torch.randn(5, 1, 6, 6) for _ in range(3)]
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    log = jit_unlearn(a, xs, JitConfig(lr=0.05, n_samples=9, chunk="rule"), seed=4)
    jit_unlearn(b, xs, JitConfig(lr=0.05, n_samples=9, chunk=1), seed=4)
    assert log["chunk"] == auto_chunk(9, xs[0], "cpu", base) == 1  # convolutions on a CPU: the loop
    torch.testing.assert_close(params(a), params(b), rtol=1e-5, atol=1e-6)
    c = copy.deepcopy(base)  # 'auto' measures (tests/methods/test_jit_autotune.py): any chunk
    log = jit_unlearn(c, xs, JitConfig(lr=0.05, n_samples=9, chunk="auto"), seed=4)
    assert 1 <= log["chunk"] <= 9
    torch.testing.assert_close(params(c), params(b), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="chunk"):
        lipschitz_ratios(base, xs[0], 0.1, 9, chunk=[4, 4])


def test_auto_chunk_bounds_rows_on_cpu():
    x = torch.zeros(64, 1, 28, 28)
    k = auto_chunk(25, x, "cpu")
    assert 1 <= k <= 25 and k * 64 <= max(64, 256)
    assert auto_chunk(25, torch.zeros(2, 3), "cuda") == 25
    mlp_net, cnn = models.build("mlp", (1, 28, 28), 10), models.build("small_cnn", (1, 28, 28), 10)
    assert auto_chunk(25, x, "cpu", mlp_net) == k and auto_chunk(25, x, "cpu", cnn) == 1
    assert auto_chunk(25, x, "cuda", cnn) == 25


# ---------------------------------------------------------------- the update


def test_eta_zero_is_refused_as_a_no_op(task, mlp):
    for variant in ("paper", "reference"):
        for name in ("lr", "base_lr", "paper_lr"):
            with pytest.raises(ValueError, match=rf"{name}=0.0 is not allowed"):
                methods.unlearn("jit", mlp, task, "quick", 0, "cpu", variant=variant, **{name: 0.0})


def test_one_step_moves_f_x_towards_the_weighted_mean_of_its_perturbations():
    """For a linear layer the output change is -eta (||x||^2 + 1) dL/df, and with the squared loss
    dL/df = (2/N) sum_j (f - t_j) / d_j^2: f(x) moves exactly towards the 1/d_j^2-weighted mean of
    the (pre-step) perturbed outputs t_j."""
    m = linear(seed=3)
    x = torch.randn(1, 5, dtype=torch.float64)
    n, sigma, eta = 8, 0.3, 1e-3
    gen_seed = 11
    g = torch.Generator().manual_seed(gen_seed)
    noise = torch.stack([torch.randn(x.shape, generator=g, dtype=torch.float64) for _ in range(n)])
    with torch.no_grad():
        f0 = m(x)[0]
        t = m(x + sigma * noise)[:, 0]  # (N, C)
        w = 1.0 / (sigma * noise[:, 0]).pow(2).sum(-1)  # 1 / d_j^2
    cfg = JitConfig(sigma=sigma, lr=eta, n_samples=n, batch_size=1, squared=True)
    jit_unlearn(m, [x], cfg, seed=gen_seed)
    with torch.no_grad():
        f1 = m(x)[0]
    predicted = -eta * (x.pow(2).sum() + 1) * (2.0 / n) * (w[:, None] * (f0 - t)).sum(0)
    torch.testing.assert_close(f1 - f0, predicted)
    weighted_mean = (w[:, None] * t).sum(0) / w.sum()
    assert (f1 - weighted_mean).norm() < (f0 - weighted_mean).norm()


def test_on_a_linear_map_antithetic_pulls_cancel():
    """Target matching (the default, unsquared): with a sign-flipped pair of perturbations the two
    targets sit symmetrically about f(x) for a linear map, so the pulls cancel and the step is zero:
    where f is flat (linear) JiT does nothing, whatever eta."""
    m = linear(seed=4)
    x = torch.randn(1, 5, dtype=torch.float64)
    xi = torch.randn(1, 1, 5, dtype=torch.float64)
    noise = torch.cat([xi, -xi])  # (2, 1, 5)
    before = params(m)
    opt = torch.optim.SGD(m.parameters(), lr=10.0)
    loss = lipschitz_ratios(m, x, 0.3, 2, noise=noise).mean()
    loss.backward()
    opt.step()
    assert loss.item() > 0
    torch.testing.assert_close(params(m), before, rtol=0, atol=1e-12)


def test_one_step_decreases_the_loss_on_the_same_noise():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    noise = torch.randn(10, 4, 6, dtype=torch.float64)
    before = lipschitz_ratios(m, x, 0.5, 10, noise=noise).mean().item()
    cfg = JitConfig(sigma=0.5, lr=1e-2, n_samples=10, batch_size=4, grad_through_perturbed=True)
    opt = torch.optim.SGD(m.parameters(), lr=cfg.lr)
    lipschitz_ratios(m, x, 0.5, 10, noise=noise, grad_through_perturbed=True).mean().backward()
    opt.step()
    assert lipschitz_ratios(m, x, 0.5, 10, noise=noise).mean().item() < before


def _manual(m: nn.Module, batches, sigma, n, eta, seed, accumulate, reduction, clamp) -> nn.Module:
    """A from-scratch JiT pass, for comparison with :func:`jit_unlearn`."""
    g = torch.Generator().manual_seed(seed)
    grads = [torch.zeros_like(p) for p in m.parameters()]
    for x in batches:
        noise = torch.stack([torch.randn(x.shape, generator=g, dtype=x.dtype) for _ in range(n)])
        fx = m(x)
        xp = perturb(x, noise, sigma, clamp)
        with torch.no_grad():
            t = m(xp.reshape(-1, *x.shape[1:])).reshape(n, x.shape[0], -1)
        ratio = (fx - t).norm(dim=-1) / (xp - x).reshape(n, x.shape[0], -1).norm(dim=-1)
        loss = ratio.mean(0).mean() if reduction == "mean" else ratio.mean(0).sum()
        gs = torch.autograd.grad(loss, list(m.parameters()))
        grads = [a + b for a, b in zip(grads, gs)] if accumulate else list(gs)
        with torch.no_grad():
            for p, gr in zip(m.parameters(), grads):
                p -= eta * gr
    return m


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_update_matches_a_from_scratch_loop(variant):
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    batches = [torch.randn(4, 5, dtype=torch.float64) for _ in range(3)]
    cfg = JitConfig(variant=variant, sigma=0.4, lr=0.05, n_samples=6, eval_mode=True)
    ours = copy.deepcopy(base)
    jit_unlearn(ours, batches, cfg, seed=5)
    f = cfg.flags()
    ref = _manual(
        copy.deepcopy(base),
        batches,
        0.4,
        6,
        0.05,
        5,
        f["accumulate_grads"],
        f["reduction"],
        f["clamp"],
    )
    torch.testing.assert_close(params(ours), params(ref))


def test_without_accumulation_the_update_is_the_sum_of_independent_batch_steps():
    """With ``accumulate_grads=False`` the total displacement is the sum of each batch's own SGD
    step taken at the parameters the previous steps produced (checked one batch at a time)."""
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    batches = [torch.randn(4, 5, dtype=torch.float64) for _ in range(3)]
    cfg = JitConfig(sigma=0.4, lr=0.05, n_samples=6)
    whole = copy.deepcopy(base)
    jit_unlearn(whole, batches, cfg, seed=5)
    # one generator shared across the per-batch calls, as in a single pass
    step = copy.deepcopy(base)
    total = torch.zeros_like(params(base))
    g = torch.Generator().manual_seed(5)
    for x in batches:
        before = params(step)
        opt = torch.optim.SGD(step.parameters(), lr=0.05)
        opt.zero_grad()
        jit_loss(step, x, 0.4, 6, g).backward()
        opt.step()
        total += params(step) - before
    torch.testing.assert_close(params(whole) - params(base), total)


# ---------------------------------------------------------------- Algorithm 1's per-sample step


def test_per_sample_takes_one_fresh_step_per_forget_sample_in_loader_order():
    """Issue 8, item 10: ``per_sample=True`` is Algorithm 1 line by line: for each forget sample,
    the mean ratio over its N perturbations, a fresh gradient, one SGD step at rate eta."""
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    batches = [torch.randn(4, 5, dtype=torch.float64) for _ in range(2)]
    sigma, eta, n = 0.4, 0.05, 3
    ours = copy.deepcopy(base)
    log = jit_unlearn(
        ours, batches, JitConfig(sigma=sigma, lr=eta, n_samples=n, per_sample=True), seed=7
    )
    assert log["steps"] == 8
    # from scratch: one sample at a time, noise from one generator in the same order
    ref = copy.deepcopy(base)
    g = torch.Generator().manual_seed(7)
    for xb in batches:
        for i in range(xb.shape[0]):
            x = xb[i : i + 1]
            ratios = []
            for _ in range(n):
                xi = sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)
                with torch.no_grad():
                    target = ref(x + xi)
                ratios.append((ref(x) - target).norm() / xi.norm())
            grads = torch.autograd.grad(torch.stack(ratios).mean(), list(ref.parameters()))
            with torch.no_grad():
                for p_, gr in zip(ref.parameters(), grads):
                    p_ -= eta * gr
    torch.testing.assert_close(params(ours), params(ref), rtol=0, atol=1e-12)
    # the same as batch_size 1, and not the same as one step per batch
    singles = copy.deepcopy(base)
    jit_unlearn(
        singles,
        [x for xb in batches for x in xb.split(1)],
        JitConfig(sigma=sigma, lr=eta, n_samples=n),
        seed=7,
    )
    torch.testing.assert_close(params(singles), params(ours), rtol=0, atol=1e-12)
    batched = copy.deepcopy(base)
    jit_unlearn(batched, batches, JitConfig(sigma=sigma, lr=eta, n_samples=n), seed=7)
    assert (params(batched) - params(ours)).abs().max() > 1e-4
    with pytest.raises(ValueError, match="per_sample"):
        JitConfig(per_sample=1).validate()


# -------------------------------------------------------------- BatchNorm in train mode and chunks


def bn_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).double()


def test_batchnorm_in_train_mode_sees_one_perturbation_per_forward_as_the_reference_code():
    """Issue 8, item 10: in train mode a BatchNorm layer normalises with the statistics of the rows
    of one forward. The reference code forwards one perturbation of the B-row batch at a time, so
    ``chunk='auto'`` must do the same (on a CPU it would otherwise batch this MLP's perturbations),
    and an explicit chunk of several perturbations is refused before any step."""
    base = bn_net()
    batches = [torch.randn(4, 5, dtype=torch.float64) for _ in range(2)]
    sigma, eta, n = 0.4, 0.05, 6
    cfg = JitConfig(variant="reference", sigma=sigma, lr=eta, n_samples=n, clamp="none")
    ours = copy.deepcopy(base)
    log = jit_unlearn(ours, batches, cfg, seed=3)
    assert log["chunk"] == 1
    ref = copy.deepcopy(base).train()
    g = torch.Generator().manual_seed(3)
    opt = torch.optim.SGD(ref.parameters(), lr=eta)
    opt.zero_grad()
    for x in batches:  # accumulated gradients, summed ratios, one B-row forward per perturbation
        out = ref(x)
        loss = 0.0
        for _ in range(n):
            xp = x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)
            with torch.no_grad():
                out2 = ref(xp)
            loss = loss + ((out - out2).norm(dim=1) / (x - xp).norm(dim=1)).sum()
        (loss / n).backward()
        opt.step()
    torch.testing.assert_close(params(ours), params(ref), rtol=0, atol=1e-12)
    for a, b in zip(ours.buffers(), ref.buffers()):  # the running statistics too
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    before = params(base)
    with pytest.raises(ValueError, match="chunk.*BatchNorm"):
        jit_unlearn(base, batches, JitConfig(variant="reference", n_samples=n, chunk=3), seed=3)
    assert torch.equal(params(base), before)
    # eval mode (the paper variant) uses the running statistics: chunks are free again
    a, b = bn_net(), bn_net()
    jit_unlearn(a, batches, JitConfig(sigma=sigma, lr=eta, n_samples=n, chunk=3), seed=3)
    jit_unlearn(b, batches, JitConfig(sigma=sigma, lr=eta, n_samples=n, chunk=1), seed=3)
    torch.testing.assert_close(params(a), params(b), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- parity with the reference code


class _RefGaussianNoise:
    """Transcription of the reference code's perturbation transform: add std * N(0, I) drawn from
    the global generator, then clamp to the min and max of the whole input tensor."""

    def __init__(self, std: float) -> None:
        self.std = std

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        hi, lo = tensor.max(), tensor.min()
        tensor = tensor + torch.randn(tensor.size()) * self.std + 0.0
        return torch.clamp(tensor, min=lo, max=hi)


def _reference_modify_weight(model, forget_dl, sigma, lr, n_samples, train_opt):
    """Transcription, written from the reference code's ``Lipschitz.modify_weight`` semantics: a new
    plain SGD, gradients zeroed once (through the training optimiser) and never again, one pass in
    loader order, logits of the clean batch with gradient, N perturbed batches without, the
    un-squared
    ratio summed over the batch, averaged over the N draws, backward and step per batch."""
    noise = _RefGaussianNoise(sigma)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    train_opt.zero_grad()
    for x, _, _y in forget_dl:
        image = x.unsqueeze(0) if x.dim() == 3 else x
        out = model(image)
        loss = torch.tensor(0.0)
        for _ in range(n_samples):
            img2 = noise(copy.deepcopy(x))
            image2 = img2.unsqueeze(0) if img2.dim() == 3 else img2
            with torch.no_grad():
                out2 = model(image2)
            flat, flat2 = image.view(image.size()[0], -1), image2.view(image2.size()[0], -1)
            in_norm = torch.linalg.vector_norm(flat - flat2, dim=1)
            out_norm = torch.linalg.vector_norm(out - out2, dim=1)
            loss += (out_norm / in_norm).sum().abs()
        loss /= n_samples
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("chunk", [1, 4, "auto"])
def test_reference_variant_equals_a_transcription_of_the_reference_update(chunk):
    """Issue 8, item 11: the "reference" variant's update equals the reference code's, transcribed
    from scratch, to 1e-12 in float64 on a small CNN in train mode (no dropout, so the global
    generator the reference draws its noise from is used for nothing else)."""
    torch.manual_seed(0)
    base = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25, 3)
    ).double()
    # three batches of different ranges, so the batch min/max clamp bites differently in each
    batches = [
        s * torch.randn(4, 2, 5, 5, dtype=torch.float64) + m
        for s, m in ((1.0, 0.0), (0.5, 1.0), (2.0, -1.0))
    ]
    sigma, eta, n, seed = 0.8, 0.02, 5, 11
    ours = copy.deepcopy(base)
    jit_unlearn(
        ours,
        batches,
        JitConfig(variant="reference", sigma=sigma, lr=eta, n_samples=n, chunk=chunk),
        seed=seed,
    )

    ref = copy.deepcopy(base).train()  # the reference never switches the model to eval mode
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the reference draws noise in the default dtype
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            loader = [(x, [], torch.zeros(4, dtype=torch.long)) for x in batches]
            _reference_modify_weight(
                ref, loader, sigma, eta, n, torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
            )
    finally:
        torch.set_default_dtype(old)
    torch.testing.assert_close(params(ours), params(ref), rtol=0, atol=1e-12)
    assert (params(ours) - params(base)).abs().max() > 1e-3  # the update is not trivially zero
    # the check has power: the paper variant (fresh gradients, mean, no clamp) is far from it
    paper = copy.deepcopy(base)
    jit_unlearn(
        paper,
        batches,
        JitConfig(variant="paper", sigma=sigma, lr=eta, n_samples=n, eval_mode=False),
        seed=seed,
    )
    assert (params(paper) - params(ref)).abs().max() > 1e-4


# ----------------------------------------------------------- the variants differ where they should


def test_variants_agree_on_one_batch_without_dropout_when_reduction_and_clamp_match():
    """Accumulation and train mode change nothing on one batch of a dropout-free network."""
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x = [torch.randn(4, 5, dtype=torch.float64)]
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    jit_unlearn(a, x, JitConfig(variant="paper", lr=0.1, n_samples=5), seed=1)
    jit_unlearn(
        b,
        x,
        JitConfig(variant="reference", lr=0.1, n_samples=5, reduction="mean", clamp="none"),
        seed=1,
    )
    torch.testing.assert_close(params(a), params(b))


def test_accumulation_differs_from_the_second_batch_on():
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    xs = [torch.randn(4, 5, dtype=torch.float64) for _ in range(2)]
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    jit_unlearn(a, xs, JitConfig(lr=0.1, n_samples=5, accumulate_grads=False), seed=1)
    jit_unlearn(b, xs, JitConfig(lr=0.1, n_samples=5, accumulate_grads=True), seed=1)
    assert not torch.allclose(params(a), params(b))


def test_accumulated_steps_grow_with_the_number_of_batches():
    """The same batch three times at a tiny eta: fresh steps stay equal, accumulated ones go
    1:2:3."""
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    noise = torch.randn(5, 4, 5, dtype=torch.float64)

    for acc, want in ((False, [1, 1, 1]), (True, [1, 2, 3])):
        m = copy.deepcopy(base)
        opt = torch.optim.SGD(m.parameters(), lr=1e-9)
        norms = []
        opt.zero_grad()
        for _ in range(3):
            if not acc:
                opt.zero_grad()
            lipschitz_ratios(m, x, 0.3, 5, noise=noise).mean().backward()
            norms.append(torch.sqrt(sum((p.grad**2).sum() for p in m.parameters())).item())
            opt.step()
        torch.testing.assert_close(
            torch.tensor(norms, dtype=torch.float64) / norms[0],
            torch.tensor(want, dtype=torch.float64),
            rtol=1e-4,
            atol=0,
        )
    log = jit_unlearn(
        copy.deepcopy(base),
        [x, x, x],
        JitConfig(lr=1e-9, n_samples=5, accumulate_grads=True),
        seed=0,
    )
    assert len(log["step_norms"]) == 3 and log["step_norms"][2] > log["step_norms"][0]


def test_sum_reduction_scales_the_first_step_by_the_batch_size():
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x = [torch.randn(7, 5, dtype=torch.float64)]
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    jit_unlearn(a, x, JitConfig(lr=1e-3, n_samples=4, reduction="mean"), seed=2)
    jit_unlearn(b, x, JitConfig(lr=1e-3, n_samples=4, reduction="sum"), seed=2)
    torch.testing.assert_close(params(b) - params(base), 7 * (params(a) - params(base)))


def test_train_mode_changes_the_result_only_for_networks_with_dropout():
    x = [torch.randn(8, 6)]
    for net, differs in ((dropout_net(), True), (nn.Sequential(nn.Linear(6, 3)), False)):
        a, b = copy.deepcopy(net), copy.deepcopy(net)
        torch.manual_seed(0)
        jit_unlearn(a, x, JitConfig(lr=0.1, n_samples=5, eval_mode=True), seed=1)
        torch.manual_seed(0)
        jit_unlearn(b, x, JitConfig(lr=0.1, n_samples=5, eval_mode=False), seed=1)
        assert torch.allclose(params(a), params(b)) is not differs


def test_reference_flags_and_lr_rescaling():
    p, r = JitConfig(), JitConfig(variant="reference")
    assert p.flags() == {
        "accumulate_grads": False,
        "eval_mode": True,
        "reduction": "mean",
        "clamp": "none",
    }
    assert r.flags() == {
        "accumulate_grads": True,
        "eval_mode": False,
        "reduction": "sum",
        "clamp": "batch_minmax",
    }
    assert r.effective_lr() == pytest.approx(3e-4)
    assert p.effective_lr() == pytest.approx(3e-4 * 128)
    assert JitConfig(paper_lr=0.01).effective_lr() == 0.01
    assert JitConfig(variant="reference", paper_lr=0.01).effective_lr() == pytest.approx(3e-4)
    assert JitConfig(variant="reference", lr=0.2).effective_lr() == 0.2
    quick = JitConfig.resolve("quick")
    assert quick.effective_lr() == quick.paper_lr and JitConfig.resolve(
        "full"
    ).effective_lr() == pytest.approx(3e-4 * 128)
    assert JitConfig(variant="reference", eval_mode=True).flags()["eval_mode"] is True
    assert paper_settings("subclass", "vit") == {
        "sigma": 1.5,
        "base_lr": 0.5,
        "n_samples": 25,
        "batch_size": 64,
    }
    assert settings_for("class", "small_cnn", "quick") == {}
    assert settings_for("random", "vit_b16", "full") == paper_settings("random", "vit")
    assert settings_for("subclass", "vgg11", "full")["sigma"] == 0.01
    with pytest.raises(ValueError, match="kind"):
        settings_for("sample", "vgg11", "quick")


# ---------------------------------------------------------------- harness contract and bad input


def test_jit_is_registered_zero_shot_and_runs_on_a_task(task, mlp):
    assert methods.available()["jit"]["zero_shot"] is True
    r = methods.unlearn("jit", mlp, task, "quick", 0, "cpu", n_samples=3, batch_size=64)
    assert r.log["steps"] == task.forget.n_batches(64)
    assert not torch.equal(params(r.model), params(mlp))
    assert r.seconds > 0
    # seeded: the same call gives the same model
    r2 = methods.unlearn("jit", mlp, task, "quick", 0, "cpu", n_samples=3, batch_size=64)
    torch.testing.assert_close(params(r.model), params(r2.model), rtol=0, atol=0)


def test_jit_refuses_a_task_with_retain_data(task, mlp):
    spec = methods.REGISTRY["jit"]
    with pytest.raises(ValueError, match="zero-shot"):
        spec.fn(copy.deepcopy(mlp), task, JitConfig(), seed=0, device="cpu", profile="quick")
    with pytest.raises(AttributeError):
        task.zero_shot_view().retain  # noqa: B018


@pytest.mark.parametrize(
    "bad",
    [
        {"variant": "as_coded"},
        {"sigma": 0.0},
        {"sigma": -1.0},
        {"lr": -0.1},
        {"n_samples": 0},
        {"batch_size": 0},
        {"reduction": "max"},
        {"clamp": "box"},
        {"output": "softmax"},
        {"chunk": 0},
        {"chunk": "big"},
        {"eval_mode": "yes"},
        {"epochs": 0},
        {"paper_lr": -1.0},
    ],
)
def test_bad_settings_raise_naming_the_parameter(task, mlp, bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        methods.unlearn("jit", mlp, task, "quick", 0, "cpu", **bad)


def test_probs_output_and_squared_run(task, mlp):
    r = methods.unlearn(
        "jit",
        mlp,
        task,
        "quick",
        0,
        "cpu",
        n_samples=2,
        output="probs",
        squared=True,
        variant="reference",
    )
    assert all(torch.isfinite(torch.tensor(r.log["losses"])))


# ----------------------------------------------------------- FULL code path on synthetic CIFAR-100


def test_full_profile_runs_jit_on_vgg11_with_the_papers_settings(tmp_path, fake_cifar):
    task = data.load_task(
        "cifar100",
        forget="class:69",
        seed=0,
        data_root=fake_cifar(tmp_path, "cifar100", n_train=300, n_test=100),
    )
    assert task.input_shape == (3, 32, 32) and len(task.forget) >= 1
    cfg = JitConfig.resolve("full")
    # spec s.6, VGG full class
    assert (cfg.sigma, cfg.base_lr, cfg.n_samples, cfg.batch_size) == (
        0.5,
        3e-4,
        25,
        128,
    )
    assert JitConfig.resolve("full", variant="reference").effective_lr() == pytest.approx(3e-4)
    model = models.build("vgg11", task.input_shape, task.num_classes, seed=0)
    r = methods.unlearn("jit", model, task, "full", 0, "cpu", n_samples=2)
    assert r.log["steps"] == 1 and r.log["lr"] == pytest.approx(3e-4 * 128)
    assert not torch.equal(r.model.head.weight, model.head.weight)


# ---------------------------------------------------- the optional FULL ViT (torchvision vit_b_16)


@pytest.fixture
def hub_dir(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub"
    torch.hub.set_dir(old)


def test_vit_without_weights_says_where_to_put_them(hub_dir):
    with pytest.raises(FileNotFoundError, match="vit_b_16-c867db91.pth.*checkpoints"):
        models.build("vit_b16", (3, 224, 224), 10, seed=0)


def test_vit_loads_weights_from_torch_home_and_takes_224_inputs_only(hub_dir):
    """The ViT classifies 224 x 224 inputs and refuses smaller ones: resizing belongs to the data
    pipeline (``task.with_input_size``), never to ``forward``, or JiT would perturb the small
    image."""
    from torchvision.models import vit_b_16

    torch.manual_seed(0)
    ref = vit_b_16(weights=None)
    (hub_dir / "checkpoints").mkdir(parents=True)
    torch.save(ref.state_dict(), hub_dir / "checkpoints" / "vit_b_16-c867db91.pth")
    with pytest.raises(ValueError, match="input_shape.*with_input_size"):
        models.build("vit_b16", (1, 28, 28), 7, seed=0)
    net = models.build("vit_b16", (1, 224, 224), 7, seed=0).eval()
    torch.testing.assert_close(
        net.backbone.encoder.layers[0].mlp[0].weight, ref.encoder.layers[0].mlp[0].weight
    )
    assert net.backbone.heads.out_features == 7
    with torch.no_grad():
        assert net(torch.randn(1, 1, 224, 224)).shape == (1, 7)
        with pytest.raises(ValueError, match="input.*with_input_size"):
            net(torch.randn(1, 1, 28, 28))
    assert paper_settings("class", "vit")["base_lr"] == 1.5


class _Recorder(nn.Module):
    """A small image classifier that keeps every input batch it is given."""

    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16 * channels, classes)
        )
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.net(x)


def test_jit_draws_its_perturbations_at_the_vit_input_resolution(task):
    """Issue 8, item 6: the reference code resizes to 224 in the data transform, so JiT's noise
    lives in the 224 x 224 image. A task resized for ``vit_b16`` hands JiT 224 x 224 batches, and
    every perturbation ``x' - x`` is a 224 x 224 image of norm about ``sigma * sqrt(C * 224 * 224)``
    (7x the norm at the 8 x 8 digits' ``sigma * sqrt(64)`` it would be if the model resized
    inside)."""
    size = models.input_size("vit_b16")
    assert size == 224 and models.input_size("small_cnn") is None
    big = task.with_input_size(size)
    assert big.input_shape == (1, 224, 224) and big.num_classes == task.num_classes
    torch.manual_seed(0)
    rec = _Recorder(1, task.num_classes)
    sigma, n = 0.3, 3
    cfg = methods.config_of("jit", "quick", sigma=sigma, n_samples=n, chunk=1, batch_size=64)
    # the registered method, no harness checks
    methods.REGISTRY["jit"].fn(rec, big.zero_shot_view(), cfg, seed=0, device="cpu")
    shapes = {tuple(x.shape[1:]) for x in rec.seen}
    assert shapes == {(1, 224, 224)}
    x0, perturbed = rec.seen[0], rec.seen[1 : 1 + n]
    d = 224 * 224
    for xp in perturbed:
        ratio = (xp - x0).flatten(1).norm(dim=1) / (sigma * d**0.5)
        assert torch.allclose(ratio, torch.ones_like(ratio), atol=0.02)
    # the forget batch itself is the normalised image resized, not a 8 x 8 image padded or tiled
    want = torch.nn.functional.interpolate(
        task.forget.prepare(task.forget.x[:64]),
        size=(224, 224),
        mode="bilinear",
        align_corners=False,
    )
    torch.testing.assert_close(x0, want)
