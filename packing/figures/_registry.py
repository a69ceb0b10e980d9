"""Every figure of the project, the published figure it corresponds to, and the one loop that draws them.

Each driver is a module of this package with ``main(out_dir, *, quick, force,
seed)`` returning the paths it wrote. :data:`FIGURES` lists them;
:func:`make_figures` runs a selection with one progress bar over the figures
(``make figures``, ``packing figures`` and ``scripts/make_figures.py`` all end
here), so the figures can be drawn from an installed package.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .._files import check_folder_path
from .._progress import check_progress, progress_bar
from .._results import CheckedFields
from .._validation import _describe

__all__ = ["FigureDriver", "FigureOutcome", "FIGURES", "make_figures", "resolve_figures"]

_TMS = "Elhage et al. (2022), Toy Models of Superposition"


@dataclass(frozen=True)
class FigureDriver(CheckedFields):
    """One figure driver: its module, the files it writes and what it reproduces.

    Attributes
    ----------
    name : str
        Name for ``--only`` (``fig_<name>`` is accepted too, the old script names).
    outputs : tuple of str
        The figures it writes (each as ``.png`` and ``.pdf``).
    source : str
        The published figure (or table) it corresponds to.
    """

    name: str
    outputs: tuple[str, ...]
    source: str

    @property
    def module(self) -> str:
        """The importable module of the driver."""
        return f"{__package__}.{self.name}"

    def main(self) -> Callable:
        """Import the driver and return its ``main``."""
        return importlib.import_module(self.module).main


#: Every figure driver, by name, in the order they run.
FIGURES: dict[str, FigureDriver] = {
    d.name: d
    for d in (
        FigureDriver(
            "coherence_vs_n",
            ("coherence_vs_n",),
            "Sloane's table of Grassmannian line packings (Conway, Hardin & Sloane 1996) and Cohn's "
            "continuation, against the Welch, orthoplex, Levenstein, Bukh-Cox and Delsarte LP bounds "
            "(no single published figure)",
        ),
        FigureDriver(
            "computation",
            ("computation",),
            f"{_TMS}, section 'Computation in Superposition' (a ReLU layer computing absolute values)",
        ),
        FigureDriver(
            "interference_distribution",
            ("interference_distribution",),
            "this project's illustration: random (Johnson-Lindenstrauss) packing vs tegum product "
            "(no published counterpart)",
        ),
        FigureDriver(
            "learned_features_2d",
            ("learned_features_2d",),
            f"{_TMS}, the introduction's figure: 5 features in 2 dimensions across sparsity, with "
            "W Wᵀ and the biases under each",
        ),
        FigureDriver(
            "learned_sweep",
            ("learned_gram", "learned_dimensionality", "learned_moments"),
            f"{_TMS}, section 'The Geometry of Superposition' (tegum products of small polytopes): "
            "detected shapes, the ideal tegum product and the positive interference a ReLU passes "
            "(no single published figure)",
        ),
        FigureDriver(
            "monosemanticity",
            ("monosemanticity_sweeps", "monosemanticity_neurons", "monosemanticity_loss"),
            "Jermyn, Schiefer & Hubinger (2022), Engineering Monosemanticity in Toy Models: the feature "
            "decoder's monosemantic fraction against bias initialization and neurons per feature, sorted "
            "biases and activation heat maps, monosemanticity at equal loss across learning rates, the "
            "bias decay, plus input noise (not in the paper)",
        ),
        FigureDriver(
            "sae_recovery",
            ("sae_recovery",),
            "Sharkey, Braun & Millidge (2022), 'Taking features out of superposition with sparse "
            "autoencoders' (their sparse-coding toy, scaled down), extended to ground truths of known "
            "geometry against the Welch bound (no published counterpart)",
        ),
        FigureDriver(
            "scurves",
            ("scurves_squared", "scurves_cross_entropy"),
            "Saxe, McClelland & Ganguli (2014): the logistic learning curve of each component of a "
            "linear factorization under gradient descent, and Adam for contrast",
        ),
        FigureDriver(
            "tegum_vs_overlapping",
            ("tegum_vs_overlapping",),
            f"{_TMS}, 'The Geometry of Superposition' (tegum products), with Turán's bound and the "
            "exact optimal partitions of this toolkit (no single published figure)",
        ),
        FigureDriver(
            "theory_predictions",
            ("theory_phase_diagrams", "theory_dimensionality", "theory_loss_gap"),
            f"{_TMS}, sections 'Superposition as a Phase Change' (phase diagrams, 2 in 1 and 3 in 2) and "
            "'Feature Dimensionality', each predicted before training (packing.theory) and trained",
        ),
        FigureDriver(
            "toy_dimensionality",
            ("toy_dimensionality",),
            f"{_TMS}, section 'Feature Dimensionality': dimensions per feature against 1/(1-S) and "
            "the per-feature dimensionalities coloured by detected shape (dense end trained to the "
            "(n-d)/12 optimum)",
        ),
        FigureDriver(
            "toy_importance",
            ("toy_importance",),
            f"{_TMS}, section 'Demonstrating Superposition': 20 features in 5 dimensions, importance "
            "0.7^i, Gram matrices and feature norms across sparsity",
        ),
    )
}


def resolve_figures(only: Iterable[str] | None) -> list[str]:
    """Return the driver names selected by ``only`` (``None``: all), in run order.

    ``fig_<name>`` (the old script names) is accepted for ``<name>``.

    Examples
    --------
    >>> resolve_figures(["fig_scurves", "computation"])
    ['computation', 'scurves']
    >>> resolve_figures(["bounds"])
    Traceback (most recent call last):
    ...
    ValueError: only must name figures among coherence_vs_n, ...; got 'bounds'.
    """
    if only is None:
        return list(FIGURES)
    if isinstance(only, str):
        only = [only]
    if not isinstance(only, Iterable):
        raise TypeError(f"only must be figure names (a list of str) or None; got {_describe(only)}.")
    wanted = set()
    for name in only:
        if not isinstance(name, str):
            raise TypeError(f"only must be figure names (str); got {_describe(name)}.")
        key = name.removeprefix("fig_")
        if key not in FIGURES:
            raise ValueError(f"only must name figures among {', '.join(sorted(FIGURES))}; got {name!r}.")
        wanted.add(key)
    return [name for name in FIGURES if name in wanted]


@dataclass
class FigureOutcome(CheckedFields):
    """What one driver did: the files it wrote and its wall time, or the exception it raised."""

    name: str
    paths: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    error: Exception | None = None


def make_figures(
    out_dir="figures",
    *,
    only=None,
    quick: bool = False,
    force: bool = False,
    seed: int = 0,
    progress="auto",
    keep_going: bool = False,
    report: Callable[[FigureOutcome], None] | None = None,
) -> list[FigureOutcome]:
    """Draw the selected figures into ``out_dir``; return one :class:`FigureOutcome` per driver.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (figures as PNG and PDF; the cache in ``out_dir/.cache``).
    only : iterable of str, optional
        Driver names (see :data:`FIGURES`); default all.
    quick : bool
        Tiny sizes (seconds per figure): a smoke test, not the published settings.
    force : bool
        Recompute cached results.
    seed : int
        Base random seed of every driver.
    progress : True, False or "auto"
        One bar over the figures (and the drivers' own training/optimizer bars);
        ``"auto"``: only when standard error is a terminal.
    keep_going : bool
        Record a failing driver's exception in its outcome and go on with the
        next (default: raise it).
    report : callable, optional
        Called with each outcome as soon as its driver ends.

    Returns
    -------
    list of FigureOutcome
    """
    from .._validation import check_bool, check_int

    names = resolve_figures(only)
    quick, force = check_bool(quick, "quick"), check_bool(force, "force")
    keep_going = check_bool(keep_going, "keep_going")
    seed = check_int(seed, "seed", minimum=0)
    progress = check_progress(progress)
    out_dir = check_folder_path(out_dir, "out_dir")
    if report is not None and not callable(report):
        raise TypeError(f"report must be a function of a FigureOutcome or None; got {_describe(report)}.")
    outcomes = []
    with progress_bar(
        len(names), desc="figures", progress=progress, unit="figure", leave=True, delay=0
    ) as bar:
        for name in names:
            bar.note(drawing=name)
            start = time.perf_counter()
            outcome = FigureOutcome(name)
            try:
                written = FIGURES[name].main()(out_dir, quick=quick, force=force, seed=seed)
                outcome.paths = [Path(p) for p in written]
            except Exception as exc:
                if not keep_going:
                    raise
                outcome.error = exc
            outcome.seconds = time.perf_counter() - start
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
            bar.update()
    return outcomes
