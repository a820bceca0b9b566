"""Tests of JiT's measured chunk (``chunk='auto'``, :mod:`companion.methods.jit_autotune`): it
picks the fastest candidate, caches the choice, and changes nothing but the speed (no draw of
JiT's generator or of the global random state, no buffer, parameter or gradient moves)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from companion.methods import jit_autotune
from companion.methods.jit import jit_unlearn
from companion.methods.jit_autotune import cache_size, candidates, clear_cache, tune_chunk
from companion.methods.jit_config import JitConfig
from companion.methods.jit_loss import lipschitz_ratios, resolve_chunk

torch.set_num_threads(1)


def cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)
    )


def dropout_bn_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)
    )


def params(m: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in m.parameters()])


@pytest.fixture(autouse=True)
def cold_cache():
    clear_cache()
    yield
    clear_cache()


def fake_timer(seconds: dict[int, float], calls: list[int]):
    """A stand-in for time_chunk that returns ``seconds[k]`` for a chunk of k perturbations."""

    def timer(model, x, eps, sigma, **kw):
        k = eps.shape[0]
        calls.append(k)
        if seconds[k] is None:
            raise torch.OutOfMemoryError("fake")
        return seconds[k]

    return timer


def test_candidates_are_powers_of_two_and_the_bound():
    assert candidates(25, 10**9) == [1, 2, 4, 8, 25]
    assert candidates(8, 100) == [1, 2, 4, 8]
    assert candidates(10, 100) == [1, 2, 4, 10]
    assert candidates(25, 5) == [1, 2, 5]
    assert candidates(1, 100) == candidates(7, 1) == [1]


def test_the_fastest_per_perturbation_wins_and_the_search_stops_when_it_gets_worse(monkeypatch):
    x = torch.zeros(3, 6)
    calls: list[int] = []
    # per perturbation: 1.0, 0.6, 0.25, 0.5 (worse than 1.25 x 0.25: stop before 25)
    secs = {1: 1.0, 2: 1.2, 4: 1.0, 8: 4.0, 25: 1.0}
    monkeypatch.setattr(jit_autotune, "time_chunk", fake_timer(secs, calls))
    net = nn.Linear(6, 3)
    assert tune_chunk(net, x, 25, 0.1, max_chunk=100) == 4
    assert calls == [1, 2, 4, 8]
    # cached: a second call does not time again; another N does
    assert tune_chunk(net, x, 25, 0.1, max_chunk=100) == 4 and calls == [1, 2, 4, 8]
    assert cache_size() == 1
    tune_chunk(net, x, 24, 0.1, max_chunk=100)
    assert cache_size() == 2 and len(calls) > 4


def test_out_of_memory_ends_the_search_with_the_best_so_far(monkeypatch):
    calls: list[int] = []
    secs = {1: 1.0, 2: 1.0, 4: None, 8: 0.1}
    monkeypatch.setattr(jit_autotune, "time_chunk", fake_timer(secs, calls))
    assert tune_chunk(nn.Linear(6, 3), torch.zeros(2, 6), 8, 0.1, max_chunk=8) == 2
    assert calls == [1, 2, 4]


def test_batchnorm_in_train_mode_keeps_one_perturbation_per_forward_without_timing(monkeypatch):
    monkeypatch.setattr(jit_autotune, "time_chunk", lambda *a, **k: pytest.fail("timed"))
    net = dropout_bn_net().train()
    assert resolve_chunk("auto", 9, torch.zeros(4, 6), net, 0.1) == 1
    assert resolve_chunk("rule", 9, torch.zeros(4, 6), net, 0.1) == 1
    assert resolve_chunk(3, 9, torch.zeros(4, 6), net, 0.1) == 3


def test_timing_leaves_generators_buffers_parameters_and_gradients_alone():
    net = dropout_bn_net().train()  # dropout draws from the global generator, BN moves buffers
    x = torch.randn(4, 6)
    before_params = params(net).clone()
    before_buffers = [b.clone() for b in net.buffers()]
    gen = torch.Generator().manual_seed(5)
    gen_state, global_state = gen.get_state(), torch.get_rng_state()
    k = tune_chunk(net, x, 9, 0.3, max_chunk=9, grad_through_perturbed=True)
    assert 1 <= k <= 9
    assert torch.equal(gen.get_state(), gen_state)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert torch.equal(params(net), before_params)
    assert all(torch.equal(a, b) for a, b in zip(net.buffers(), before_buffers))
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_auto_equals_the_loop_and_one_big_chunk_with_a_cold_and_a_warm_cache(variant):
    torch.manual_seed(1)
    xs = [torch.randn(5, 1, 6, 6) for _ in range(3)]
    n = 9
    extra = {"clamp": "none"} if variant == "reference" else {}
    cfg = {"variant": variant, "lr": 0.05, "sigma": 0.3, "n_samples": n, **extra}
    runs = {}
    for name, chunk in (("loop", 1), ("one", n), ("cold", "auto"), ("warm", "auto")):
        if name == "cold":
            clear_cache()
        m = cnn()
        runs[name] = (m, jit_unlearn(m, xs, JitConfig(chunk=chunk, **cfg), seed=4))
    assert cache_size() == 1
    assert runs["cold"][1]["chunk"] == runs["warm"][1]["chunk"]  # the warm run reused the choice
    for name in ("one", "cold", "warm"):
        torch.testing.assert_close(params(runs[name][0]), params(runs["loop"][0]))
        assert runs[name][1]["losses"] == pytest.approx(runs["loop"][1]["losses"], rel=1e-5)


def test_auto_with_dropout_in_train_mode_equals_the_loop():
    """The reference variant runs dropout in train mode: the timing must not draw from the global
    generator the masks come from (on a CPU a chunked forward draws the loop's masks)."""
    xs = [torch.randn(4, 6) for _ in range(2)]
    net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    cfg = dict(variant="reference", lr=0.05, sigma=0.3, n_samples=8, clamp="none")
    out = []
    for chunk in (1, "auto"):
        m = copy.deepcopy(net)
        torch.manual_seed(11)
        jit_unlearn(m, xs, JitConfig(chunk=chunk, **cfg), seed=2)
        out.append(params(m))
    torch.testing.assert_close(out[1], out[0])


def test_lipschitz_ratios_auto_is_measured_and_rule_is_the_fixed_rule():
    net = cnn().eval()
    x = torch.randn(5, 1, 6, 6)
    want = lipschitz_ratios(net, x, 0.4, 7, torch.Generator().manual_seed(3), chunk=1)
    for chunk in ("auto", "rule"):
        got = lipschitz_ratios(net, x, 0.4, 7, torch.Generator().manual_seed(3), chunk=chunk)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert cache_size() == 1


def test_config_accepts_auto_rule_and_integers_only():
    assert JitConfig(chunk="rule").chunk == "rule"
    for bad in ("fast", 0, True, 2.0):
        with pytest.raises(ValueError, match="chunk"):
            JitConfig(chunk=bad)


def test_a_later_process_runs_with_the_stored_choice_without_timing(monkeypatch):
    """The choice is stored under the cache folder: a process with an empty in-process cache (here:
    after clear_cache()) reads it instead of timing again, so a re-executed chapter repeats its
    chunk and therefore its numbers."""
    x = torch.zeros(3, 6)
    calls: list[int] = []
    monkeypatch.setattr(
        jit_autotune, "time_chunk", fake_timer({1: 1.0, 2: 1.2, 4: 1.0, 8: 4.0}, calls)
    )
    net = nn.Linear(6, 3)
    assert tune_chunk(net, x, 8, 0.1, max_chunk=100) == 4
    assert jit_autotune.store_path().is_file()
    clear_cache()
    calls.clear()
    # timing now would pick 1: the stored 4 must win, untimed
    monkeypatch.setattr(jit_autotune, "time_chunk", fake_timer({1: 0.1, 2: 9, 4: 9, 8: 9}, calls))
    assert tune_chunk(net, x, 8, 0.1, max_chunk=100) == 4 and calls == []
    # clear_cache(stored=True) forgets the stored choice too
    clear_cache(stored=True)
    assert tune_chunk(net, x, 8, 0.1, max_chunk=100) == 1 and calls


def test_a_half_written_store_is_not_trusted(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(jit_autotune, "time_chunk", fake_timer({1: 1.0, 2: 0.5}, calls))
    path = jit_autotune.store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"abc": 3, "trunc')
    assert tune_chunk(nn.Linear(6, 3), torch.zeros(2, 6), 2, 0.1, max_chunk=8) == 2
    assert calls == [1, 2]
    assert list(__import__("json").loads(path.read_text()).values()) == [2]


def test_processes_tuning_the_same_setting_at_once_take_turns(monkeypatch):
    """Two tuners of one setting at the same time (two chapters of a parallel build): the second
    waits for the first's choice and reads it, so both run with the same chunk."""
    import threading
    import time

    calls: list[int] = []

    def slow(model, x, eps, sigma, **kw):
        calls.append(eps.shape[0])
        time.sleep(0.05)
        return {1: 1.0, 2: 0.5}[eps.shape[0]]

    monkeypatch.setattr(jit_autotune, "time_chunk", slow)
    net, x, got = nn.Linear(6, 3), torch.zeros(2, 6), []

    def tune():
        got.append(tune_chunk(net, x, 2, 0.1, max_chunk=8))

    threads = [threading.Thread(target=tune) for _ in range(2)]
    jit_autotune._CACHE.clear()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [2, 2] and calls == [1, 2]  # timed once, by whichever came first
