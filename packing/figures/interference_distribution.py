"""Interference distribution of a random packing vs a tegum product with the same n and d.

A random (Johnson–Lindenstrauss style) packing spreads its overlap over every
pair; a tegum product of small polygons makes all cross-block pairs exactly
orthogonal and concentrates the overlap inside blocks. The left panel shows the
distribution of |cos| over pairs, the right panel the p-means of |cos|: the
tegum product wins for small p (many exact zeros), the random packing for large
p (lower worst case). No published counterpart: an illustration of the
tegum-product argument of Elhage et al. (2022, "Toy Models of Superposition")
with this toolkit's constructions (n = 1024 lines in d = 256).
"""

from __future__ import annotations

import numpy as np

from .. import plot_cosine_histogram, plot_moment_profile, random_packing, tegum_packing
from ._kit import FigureRun, plain_log_ticks, run_figure_cli


def main(out_dir="figures", *, quick: bool = False, force: bool = False, seed: int = 0):
    """Draw into ``out_dir`` (``quick``: tiny sizes, ``force``: recompute the cache); return the paths."""
    rng = np.random.default_rng(seed)
    n, d = (64, 16) if quick else (1024, 256)
    random_W = random_packing(n, d, rng=rng)
    # d/2 orthogonal planes, each holding n/(d/2) lines at angle pi/m
    tegum_W = tegum_packing(n, d, d // 2, block="polygon", rotate=True, rng=rng)
    with FigureRun(out_dir, force=force) as run:
        fig, axes = run.figure(1, 2, figsize=(7.0, 2.9))
        tegum = f"tegum: {d // 2} planes × {n // (d // 2)} lines"
        for W, label in ((random_W, "random (JL)"), (tegum_W, tegum)):
            plot_cosine_histogram(axes[0], W, bins=40, label=label)
            plot_moment_profile(axes[1], W, label=label)
        axes[0].set_title(f"|cos| over pairs, n={n}, d={d}")
        axes[1].set_title(f"p-mean of |cos|, n={n}, d={d} (dotted: coherence)")
        axes[0].legend()
        axes[1].set_xticks([0.25, 1, 4, 16, 64])
        plain_log_ticks(axes[1], "x")
        fig.tight_layout()
        run.save(fig, "interference_distribution")
    return run.paths


if __name__ == "__main__":
    run_figure_cli(main, __doc__)
