"""The trainer's update against the paper's training loop, rewritten independently in PyTorch.

Jermyn, Schiefer & Hubinger (2022) train with ``torch_optimizer.Lamb`` (its defaults: eps 1e-6,
no weight decay, no bias correction, the trust ratio ``min(||p||, 10) / ||u||`` for *every*
parameter tensor, the bias vector included), step ``CosineAnnealingLR(T_max=512, eta_min=0)``
after every update, and multiply the first layer's bias by ``1 - decay * lr`` (the base rate)
after the updates of the first half. Here that loop is written in torch (autograd gradients, a
LAMB written from the algorithm, torch's own scheduler) and run on the same batches as the
toolkit's kernel, LAMB, schedule and bias decay, in float64.
"""

import numpy as np
import pytest

from packing.train._mono_kernel import _MonoKernel
from packing.train._optim import Optimizer
from packing.train._parallel import blas_limits
from packing.train.monosemanticity import _DecayingBias, random_embedding

torch = pytest.importorskip("torch", reason="the optional benchmark peer")


class PaperLamb(torch.optim.Optimizer):
    """LAMB as torch_optimizer.Lamb computes it with its defaults (written from the algorithm)."""

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(0.9).add_(0.1 * p.grad)
                v.mul_(0.999).add_(0.001 * p.grad * p.grad)
                u = m / (v.sqrt() + 1e-6)
                phi, u_norm = torch.linalg.norm(p).clamp(max=10.0), torch.linalg.norm(u)
                ratio = phi / u_norm if phi > 0 and u_norm > 0 else 1.0
                p.sub_(group["lr"] * ratio * u)


def paper_loop(W1, b, W2, E, batches, *, lr, decay, t_max):
    """One instance trained by the paper's loop (model3.py's ``train``, feature decoder, ReLU)."""
    t = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W1, b, W2)]
    emb = torch.tensor(E, dtype=torch.float64)
    opt = PaperLamb(t, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=0.0)
    steps = len(batches)
    for i, batch in enumerate(batches):
        opt.zero_grad()
        v = torch.tensor(batch, dtype=torch.float64)
        y = torch.relu(v @ emb @ t[0] + t[1]) @ t[2].T
        loss = ((y - v) ** 2).sum() / len(v)
        loss.backward()
        opt.step()
        sched.step()
        if i < steps / 2:
            with torch.no_grad():
                t[1].mul_(1.0 - decay * lr)
    return [a.detach().numpy() for a in t]


@pytest.mark.parametrize("init_bias", [0.0, -0.5])
def test_lamb_schedule_and_bias_decay_are_the_papers(init_bias):
    rng = np.random.default_rng(5)
    n_inst, N, m, k, B, steps = 2, 6, 4, 10, 32, 40
    lr, t_max = 0.03, 6
    decay = np.array([0.5, 2.0])
    E = random_embedding(rng, n_inst, N, m)
    W1 = rng.uniform(-0.5, 0.5, (n_inst, m, k))
    b = rng.uniform(-0.5, 0.5, (n_inst, k)) + init_bias
    W2 = rng.uniform(-0.3, 0.3, (n_inst, N, k))
    batches = rng.uniform(0, 1, (steps, n_inst, B, N)) * (rng.random((steps, n_inst, B, N)) < 0.3)

    off = np.zeros(n_inst)
    kern = _MonoKernel(n_inst, N, m, k, B, np.dtype(np.float64), embedding=E, noise=off,
                       noise_on="input", l1=off, task="decoder", gelu=False, threads=None)  # fmt: skip
    kern.W1[...], kern.b[...], kern.W2[...] = W1, b, W2
    opts = dict(optimizer="lamb", lr=lr, schedule="cosine_periodic", cosine_t_max=t_max, steps=steps,
                weight_decay=0.0, betas=(0.9, 0.999), eps=1e-6, momentum=0.0)  # fmt: skip
    opt = _DecayingBias(Optimizer.from_options(kern.params, opts, tensors=(n_inst, kern.tensors)),
                        kern.b, decay, lr, steps)  # fmt: skip
    try:
        with blas_limits(None):
            for t in range(steps):
                kern.v = np.ascontiguousarray(batches[t])
                kern.loss_and_grad()
                opt.step(kern.params, kern.grad, t)
    finally:
        kern.close()
    for i in range(n_inst):
        want = paper_loop(W1[i], b[i], W2[i], E[i], batches[:, i], lr=lr, decay=decay[i], t_max=t_max)
        ours = (kern.W1[i], kern.b[i], kern.W2[i])
        for got, expected, name in zip(ours, want, ("W1", "b", "W2"), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10, err_msg=name)
