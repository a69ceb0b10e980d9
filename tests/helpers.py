"""Small independent reference computations used by several test modules."""

import dataclasses

import numpy as np


def brute_force_cosines(W):
    """All unordered-pair cosines by an explicit double loop (float64)."""
    W = np.asarray(W, dtype=np.float64)
    n = W.shape[0]
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            ni, nj = np.linalg.norm(W[i]), np.linalg.norm(W[j])
            if ni == 0 or nj == 0:
                out.append(0.0)
            else:
                out.append(float(np.dot(W[i], W[j]) / (ni * nj)))
    return np.array(out)


def random_rotation(d, rng):
    """A Haar-random orthogonal matrix (QR with sign correction)."""
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    return Q * np.sign(np.diag(R))


_QUICK: dict = {}


def quick_figures(name):
    """Each figure driver's quick run, once per test session: ``(out_dir, paths, drawn)``.

    ``drawn`` maps each figure the driver saved to its :class:`packing.figures.Drawn`
    (the matplotlib figure and the numbers it shows), so the smoke test of the
    driver and the tests of what it draws share one run.
    """
    if name not in _QUICK:
        import atexit
        import shutil
        import tempfile
        from pathlib import Path

        from packing.figures import FIGURES, draw_quick

        root = Path(tempfile.mkdtemp(prefix=f"quick-{name}-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        out = root / "figs"
        paths, drawn = draw_quick(FIGURES[name].main(), out)
        _QUICK[name] = (out, paths, drawn)
    return _QUICK[name]


def same_result(a, b):
    """Every field equal, arrays bit for bit with their dtype (the wall time excepted)."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "seconds":
            continue
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


def mono_batch(seed, n_inst, n, m, k, batch, signed, density):
    """Random float64 weights ``(W1, b, W2, E)`` of the monosemanticity model and a batch ``v``.

    Each entry of ``v`` is nonzero with probability ``density``, uniform on [0, 1) (or on
    [-1, 1) when ``signed``).
    """
    rng = np.random.default_rng(seed)
    W1, b = rng.normal(size=(n_inst, m, k)), rng.normal(size=(n_inst, k))
    W2, E = rng.normal(size=(n_inst, n, k)), rng.normal(size=(n_inst, n, m))
    keep = rng.random((n_inst, batch, n)) < density
    v = rng.uniform(-1 if signed else 0, 1, size=(n_inst, batch, n)) * keep
    return W1, b, W2, E, v


def check_monosemanticity_gradient(run, model, h=1e-6):
    """Compare the monosemanticity kernel's gradient with central differences of its loss.

    ``model`` is ``(W1, b, W2, E, v)`` (float64, instances first); ``run(model)`` returns the
    kernel's ``(loss, penalty, grad, ...)`` per instance. The differences are of ``loss +
    penalty`` in each parameter of ``[W1 | b | W2]`` (the kernel's row layout), instance by
    instance; no pre-activation may lie within ``h`` of the ReLU's kink.
    """
    W1, b, W2, E, v = model
    n_inst, m, k = W1.shape
    n = W2.shape[1]
    grad = run(model)[2]

    def loss(p):
        got = run((p[:, : m * k].reshape(n_inst, m, k), p[:, m * k : (m + 1) * k],
                   p[:, (m + 1) * k :].reshape(n_inst, n, k), E, v))  # fmt: skip
        return got[0] + got[1]

    params = np.concatenate([W1.reshape(n_inst, -1), b, W2.reshape(n_inst, -1)], axis=1)
    num = np.zeros_like(params)
    for idx in np.ndindex(params.shape):
        p = params.copy()
        p[idx] += h
        up = loss(p)
        p[idx] -= 2 * h
        down = loss(p)
        num[idx] = (up[idx[0]] - down[idx[0]]) / (2 * h)
    z = np.einsum("ibn,inm,imk->ibk", v, E, W1) + b[:, None, :]
    assert np.min(np.abs(z)) > 1e-4  # no ReLU kink within h of a pre-activation
    atol = 1e-6 * max(1.0, np.abs(num).max())
    np.testing.assert_allclose(grad.reshape(n_inst, -1), num, rtol=1e-6, atol=atol)


def wait_until_workers_compute(pid, cpu_seconds=4.0, timeout=300.0):
    """Wait until two processes below ``pid`` (a parallel search's workers) have each used ``cpu_seconds``.

    Importing the toolkit takes a worker about 1.5 CPU seconds; past that it is inside a
    restart. Returns the pids of the processes below ``pid`` that have.
    """
    import time

    import psutil

    parent, deadline = psutil.Process(pid), time.monotonic() + timeout
    while True:
        used = {}
        for child in parent.children(recursive=True):
            try:
                used[child.pid] = sum(child.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
        busy = [p for p, seconds in used.items() if seconds >= cpu_seconds]
        if len(busy) >= 2:
            return busy
        assert parent.is_running(), "the search ended before its workers were busy"
        assert time.monotonic() < deadline, f"the workers never got busy: CPU seconds {used}"
        time.sleep(0.2)


def processes_left(pids, timeout=20.0):
    """Return those of ``pids`` still running (not gone, not a zombie) after up to ``timeout`` seconds."""
    import time

    import psutil

    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def load_script(name):
    """Import ``scripts/<name>.py`` as a module (the scripts are not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
