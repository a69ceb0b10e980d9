"""Certified coherence of a packing, its contact graph, and export in the format of the public tables.

A packing found in floating point is only a claim. :func:`certify_packing`
rounds every coordinate to ``digits`` decimals, and computes the coherence of
that rational packing exactly: with ``N`` the integer matrix of scaled
coordinates, ``cos² θ_ij = G_ij² / (G_ii G_jj)`` with ``G = N Nᵀ`` in exact
integer arithmetic, and ``μ = max |cos θ_ij|`` is enclosed by integer square
roots (``⌊μ 10^K⌋ = isqrt(⌊μ² 10^{2K}⌋)``). Nothing is rounded that is not
accounted for, so the result is a proof about the rounded packing, and (by the
same exact computation on the binary values of the input) a bound on how far
the rounding moved the coherence of the input.

The pairs at the maximum (within ``atol``) form the *contact graph* (a
:class:`networkx.Graph`); at a rigid local optimum it has at least as many
edges as the packing has degrees of freedom.

:func:`export_packing` writes a certified packing as text in the form public
tables use (the squared chordal distance ``D = 1 − μ²`` to ten digits,
rounded down, and coordinates to ``digits`` decimals, so that the value
reproduces exactly from the file); :func:`read_exported_packing` reads it back.
A claimed improvement on a table entry counts only if
:meth:`PackingCertificate.improves_on` says so: the certified upper end must beat
the entry by more than the table's rounding and by at least ``1e-8`` (the rule of
the complex-packing table of Jasper, King & Mixon 2019: better in at least the
eighth decimal place).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ._files import as_path, atomic_write, check_regular_file
from ._results import Savable
from ._rows import require_nonzero_rows
from ._validation import check_float, check_int, check_packing
from .reference import TABLE_ROUNDING, BestKnown

if TYPE_CHECKING:  # networkx is imported where used: `import packing` does not load it
    import networkx as nx

__all__ = [
    "PackingCertificate",
    "certify_packing",
    "export_packing",
    "read_exported_packing",
    "MIN_IMPROVEMENT",
]

#: A new record must beat the old one by at least this much in μ (better in the eighth decimal place).
MIN_IMPROVEMENT = 1e-8
#: Decimals of D = 1 − μ² in an exported header and in the public tables (rounded down).
TABLE_DIGITS = 10


@dataclass(frozen=True, eq=False)
class PackingCertificate(Savable):
    """The exactly computed coherence of a packing rounded to ``digits`` decimals (:func:`certify_packing`).

    Attributes
    ----------
    n, d : int
        Lines and dimension.
    digits : int
        Decimals of every rounded coordinate, and of the certified value.
    coherence_squared_ratio : tuple of int
        ``μ²`` of the rounded packing, exactly, as ``(numerator, denominator)`` in
        lowest terms (:attr:`coherence_squared` is the same as a
        :class:`fractions.Fraction`).
    decimal : str
        ``μ`` truncated to ``digits`` decimals: ``decimal <= μ < decimal + 10**-digits``.
    lower, upper : float
        Floats with ``lower <= μ <= upper`` (rounded outwards).
    error_bound : float
        ``10**-digits``: the exact ``μ`` lies in ``[decimal, decimal + error_bound)``.
    input_coherence : tuple of float
        ``(lower, upper)`` enclosing the exact coherence of the input as given
        (the binary floating-point values, in exact arithmetic).
    rounding_shift : float
        Upper bound on ``|μ(rounded) − μ(input)|``.
    atol : float
        Pairs with ``|cos| >= μ − atol`` are active.
    active_pairs : ndarray of int, shape (k, 2)
        The active pairs ``(i, j)``, ``i < j``, by decreasing ``|cos|``.
    active_signs : ndarray of int, shape (k,)
        The sign of ``cos θ_ij`` on each active pair.
    active_cosines : ndarray of float, shape (k,)
        ``cos θ_ij`` of each active pair (the nearest float to the exact value).
    spread : float
        ``μ`` minus the smallest ``|cos|`` of an active pair (how equal they are).
    separation : float
        ``μ`` minus the largest ``|cos|`` of an inactive pair (``inf`` if every pair is
        active): a gap much larger than ``atol`` makes the active set unambiguous.
    numerator_rows : tuple of tuple of int
        The rounded coordinates times ``10**digits``, exactly, row by row
        (:attr:`numerators` is the same as an ``(n, d)`` object array).

    A certificate is a saved result (:meth:`save`, :func:`packing.load_result`):
    every field is plain data, and the contact graph is rebuilt from the active
    pairs.
    """

    n: int
    d: int
    digits: int
    coherence_squared_ratio: tuple[int, int]
    decimal: str
    lower: float
    upper: float
    error_bound: float
    input_coherence: tuple[float, float]
    rounding_shift: float
    atol: float
    active_pairs: np.ndarray = field(repr=False)
    active_signs: np.ndarray = field(repr=False)
    active_cosines: np.ndarray = field(repr=False)
    spread: float
    separation: float
    numerator_rows: tuple[tuple[int, ...], ...] = field(repr=False)

    @property
    def coherence_squared(self) -> Fraction:
        """``μ²`` of the rounded packing, exactly."""
        return Fraction(*self.coherence_squared_ratio)

    @property
    def numerators(self) -> np.ndarray:
        """The rounded coordinates times ``10**digits``: an ``(n, d)`` object array of Python ints."""
        out = np.empty((self.n, self.d), dtype=object)
        out[:] = [list(row) for row in self.numerator_rows]
        return out

    @cached_property
    def contact_graph(self) -> nx.Graph:
        """Nodes ``0..n-1``; an edge per active pair with attributes ``cos`` and ``sign``."""
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(range(self.n))
        for (i, j), c, sg in zip(self.active_pairs.tolist(), self.active_cosines.tolist(),
                                 self.active_signs.tolist(), strict=True):
            G.add_edge(int(i), int(j), cos=float(c), sign=int(sg))
        return G

    @property
    def coherence(self) -> float:
        """The float nearest to the certified ``μ`` (within ``error_bound``)."""
        return float(Fraction(self.decimal))

    @property
    def squared_chordal_distance(self) -> float:
        """``D = 1 − μ²``, the quantity the public tables list (nearest float to the exact value)."""
        return float(1 - self.coherence_squared)

    @property
    def table_value(self) -> str:
        """``D = 1 − μ²`` rounded down to ten decimals, exactly as the public tables print it."""
        return _truncated_decimal(1 - self.coherence_squared, TABLE_DIGITS)

    @property
    def W(self) -> np.ndarray:
        """The rounded packing as floats, shape ``(n, d)`` (rows of norm ``1 ± 10**-digits``)."""
        scale = 10**self.digits
        return np.array([[float(Fraction(int(x), scale)) for x in row] for row in self.numerators])

    @property
    def num_active(self) -> int:
        """Number of active pairs (edges of the contact graph)."""
        return len(self.active_pairs)

    def improves_on(self, record, *, min_improvement: float = MIN_IMPROVEMENT) -> bool:
        """Whether the certified coherence beats ``record`` by more than its rounding and ``min_improvement``.

        Parameters
        ----------
        record : float or BestKnown
            A tabulated coherence (a :class:`packing.BestKnown` brings its own rounding;
            a bare float is taken as rounded to 10 decimals).
        min_improvement : float, default 1e-8
            The smallest improvement worth a claim (better in the eighth decimal place).

        Returns
        -------
        bool
            ``upper < record − max(rounding, min_improvement)``.
        """
        if isinstance(record, BestKnown):
            value, rounding = record.coherence, record.rounding
        else:
            value = check_float(record, "record", minimum=0.0, maximum=1.0)
            rounding = TABLE_ROUNDING / 2 + TABLE_ROUNDING / (2.0 * max(value, 1e-3))
        min_improvement = check_float(min_improvement, "min_improvement", minimum=0.0)
        return self.upper < value - max(rounding, min_improvement)

    def describe(self) -> str:
        """One paragraph: the certified value, the active pairs and the contact graph."""
        import networkx as nx

        G = self.contact_graph
        degrees = sorted(dict(G.degree()).values())
        pairs = self.n * (self.n - 1) // 2
        components = nx.number_connected_components(G.subgraph([v for v in G if G.degree(v) > 0]))
        dof = self.n * (self.d - 1) - self.d * (self.d - 1) // 2
        return (
            f"{self.n} lines in R^{self.d}: coherence {self.decimal[:self.digits + 2]} "
            f"(exact to {self.error_bound:.0e}; D = 1 - mu^2 = {self.table_value}); "
            f"{self.num_active} of {pairs} pairs within {self.atol:.0e} of the maximum "
            f"(spread {self.spread:.1e}, next pair {self.separation:.1e} below); contact graph: "
            f"{G.number_of_edges()} edges, degrees {degrees[0]}-{degrees[-1]}, "
            f"{sum(1 for k in degrees if k == 0)} lines without contact, {components} component(s) "
            f"among the others; {dof} degrees of freedom modulo rotations."
        )


# ----------------------------------------------------------------------------- exact arithmetic


def _decimal_numerators(U: np.ndarray, digits: int) -> np.ndarray:
    """``round(x · 10**digits)`` of every float ``x`` of ``U``, exactly (Python ints, object array)."""
    scale = 10**digits
    return np.array([[round(Fraction(float(x)) * scale) for x in row] for row in U], dtype=object)


def _power_of_two_scaled(W: np.ndarray) -> np.ndarray:
    """Scale each row by a power of two (exactly) so that its norm lies in ``[1/2, 2)``; unit rows stay."""
    norms = np.linalg.norm(W, axis=1)
    k = np.where((norms >= 0.5) & (norms < 2.0), 0, -np.floor(np.log2(norms)))
    return np.ldexp(W, k.astype(int)[:, None])


def _binary_numerators(W: np.ndarray) -> np.ndarray:
    """Return the floats of ``W`` times a common power of two, exactly (Python ints, object array)."""
    fractions = [[Fraction(float(x)) for x in row] for row in W]
    scale = max(f.denominator for row in fractions for f in row)  # a power of two
    return np.array([[int(f * scale) for f in row] for row in fractions], dtype=object)


def _truncated_decimal(x: Fraction, digits: int) -> str:
    """``x >= 0`` truncated to ``digits`` decimals, as a string."""
    k = (x.numerator * 10**digits) // x.denominator
    whole, frac = divmod(k, 10**digits)
    return f"{whole}.{frac:0{digits}d}"


def _outward_floats(lo: Fraction, hi: Fraction) -> tuple[float, float]:
    """Floats ``a <= lo`` and ``b >= hi`` (each the nearest such float)."""
    a, b = float(lo), float(hi)
    if Fraction(a) > lo:
        a = float(np.nextafter(a, -np.inf))
    if Fraction(b) < hi:
        b = float(np.nextafter(b, np.inf))
    return a, b


def _squared_cosines(N: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Fraction], np.ndarray]:
    """Exact ``cos²`` of every pair ``i < j`` of the integer rows ``N``, and the sign of each cosine."""
    G = N.dot(N.T)
    n = N.shape[0]
    iu, ju = np.triu_indices(n, 1)
    norms = [G[i, i] for i in range(n)]
    pairs = list(zip(iu.tolist(), ju.tolist(), strict=True))
    sq = [Fraction(G[i, j] * G[i, j], norms[i] * norms[j]) for i, j in pairs]
    signs = np.array([1 if G[i, j] >= 0 else -1 for i, j in pairs], dtype=int)
    return iu, ju, sq, signs


def _floor_sqrt_scaled(x: Fraction, K: int) -> int:
    """``⌊sqrt(x) · 10**K⌋`` exactly, for a fraction ``x >= 0``."""
    return math.isqrt((x.numerator * 10 ** (2 * K)) // x.denominator)


def _enclosure(x_sq: Fraction, K: int) -> tuple[Fraction, Fraction]:
    """``(lo, hi)`` with ``lo <= sqrt(x_sq) <= hi`` and ``hi − lo <= 10**-K``."""
    t = _floor_sqrt_scaled(x_sq, K)
    lo = Fraction(t, 10**K)
    return lo, (lo if lo * lo == x_sq else lo + Fraction(1, 10**K))


# ----------------------------------------------------------------------------- public functions


def certify_packing(W, *, digits: int = 20, atol: float = 1e-9) -> PackingCertificate:
    """Round ``W`` to ``digits`` decimals and compute its coherence and contact graph exactly.

    Rows whose norm is outside ``[1/2, 2)`` are first scaled by a power of two
    (exactly; unit rows are left alone), every coordinate is rounded to ``digits``
    decimals (an exact rational packing: the one :func:`export_packing` writes;
    inputs with short decimal coordinates, such as root systems, are kept exactly),
    and every ``cos² θ_ij`` of that packing is computed in exact integer
    arithmetic. The coherence ``μ`` is certified to ``digits`` decimals
    (``decimal <= μ < decimal + 10**-digits``); the exact coherence of the input's
    own binary values is enclosed the same way, which bounds what the rounding
    changed.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One line per row (nonzero rows, ``n >= 2``).
    digits : int, default 20
        Decimals of the rounded coordinates and of the certified value (1 to 100).
    atol : float, default 1e-9
        Pairs with ``|cos| >= μ − atol`` (exactly) are active: the edges of the contact graph.

    Returns
    -------
    PackingCertificate

    Raises
    ------
    TypeError, ValueError
        ``W`` not a finite real ``(n, d)`` array with ``n >= 2`` and nonzero rows,
        ``digits`` not an integer in ``[1, 100]``, ``atol < 0``.

    Examples
    --------
    >>> cert = certify_packing(icosahedron_lines())
    >>> cert.decimal[:14], cert.num_active, cert.contact_graph.number_of_edges()
    ('0.447213595499', 15, 15)
    >>> abs(cert.coherence - 1 / math.sqrt(5)) < 1e-15   # the lines rounded to 20 decimals
    True
    >>> certify_packing(np.eye(3), digits=0)
    Traceback (most recent call last):
    ...
    ValueError: digits must be >= 1; got 0.
    """
    W = check_packing(W, min_rows=2).astype(np.float64)
    require_nonzero_rows(W, "W")  # the check only: the rows are kept as given (see _power_of_two_scaled)
    digits = check_int(digits, "digits", minimum=1, maximum=100)
    atol = check_float(atol, "atol", minimum=0.0)
    n, d = W.shape
    N = _decimal_numerators(_power_of_two_scaled(W), digits)
    if any(all(x == 0 for x in row) for row in N):
        raise ValueError(f"W has a row that rounds to zero at digits={digits}; use more digits.")
    iu, ju, sq, signs = _squared_cosines(N)
    mu_sq = max(sq)
    lo, hi = _enclosure(mu_sq, digits)
    # |cos| of every pair to `digits` decimals (truncated), exactly: the active set and the gaps
    scale = 10**digits
    trunc = np.array([_floor_sqrt_scaled(x, digits) for x in sq], dtype=object)
    top = int(max(trunc))
    tol = math.floor(min(atol, 1.0) * scale)  # cosines differ by at most 1: any atol >= 1 takes all pairs
    active = np.flatnonzero(np.array([top - int(t) <= tol for t in trunc]))
    order = active[np.argsort([-int(trunc[k]) for k in active], kind="stable")]
    inactive = np.setdiff1d(np.arange(len(sq)), active)
    spread = float(Fraction(top - min(int(trunc[k]) for k in active), scale))
    separation = math.inf
    if inactive.size:
        separation = float(Fraction(top - max(int(trunc[k]) for k in inactive), scale))
    # the input's own coherence, exactly
    _, _, sq_in, _ = _squared_cosines(_binary_numerators(W))
    in_lo, in_hi = _enclosure(max(sq_in), digits)
    lower, upper = _outward_floats(lo, hi)
    return PackingCertificate(
        n=n,
        d=d,
        digits=digits,
        coherence_squared_ratio=(mu_sq.numerator, mu_sq.denominator),
        decimal=_truncated_decimal(lo, digits),
        lower=lower,
        upper=upper,
        error_bound=10.0**-digits,
        input_coherence=_outward_floats(in_lo, in_hi),
        rounding_shift=float(max(abs(hi - in_lo), abs(in_hi - lo))),
        atol=atol,
        active_pairs=np.column_stack([iu[order], ju[order]]).astype(int),
        active_signs=signs[order],
        active_cosines=np.array([float(signs[k]) * math.sqrt(float(sq[k])) for k in order.tolist()]),
        spread=spread,
        separation=separation,
        numerator_rows=tuple(tuple(int(x) for x in row) for row in N),
    )


def _format_row(row, digits: int) -> str:
    out = []
    for x in row:
        whole, frac = divmod(abs(int(x)), 10**digits)
        out.append(f"{'-' if x < 0 else ''}{whole}.{frac:0{digits}d}")
    return " ".join(out)


def export_packing(W, path, *, digits: int = 20, metadata: dict | None = None) -> PackingCertificate:
    """Certify ``W`` and write it as text in the form of the public Grassmannian tables.

    The file starts with ``#`` comment lines (the certified coherence, the
    squared chordal distance, the active pairs, then one ``# key: value`` line per
    ``metadata`` item), then a line ``n d D`` with ``D = 1 − μ²`` rounded down to
    ten decimals (the form of Sloane's and Cohn's tables), then ``n`` lines of
    ``d`` coordinates with ``digits`` decimals. The certificate is exactly about
    these coordinates, so reading the file back (:func:`read_exported_packing`) and
    certifying it again reproduces the value to the last digit.

    Parameters
    ----------
    W : array_like, shape (n, d)
        One line per row (nonzero rows, ``n >= 2``).
    path : str or Path
        File to write (atomically: a temporary file in the same directory, then a rename).
    digits : int, default 20
        Decimals of the coordinates.
    metadata : dict, optional
        Provenance (source, seed, budget, commit, date, …); keys and values are
        written as text, one line each (no newlines allowed in them).

    Returns
    -------
    PackingCertificate
        The certificate of the written coordinates.

    Raises
    ------
    TypeError, ValueError
        As :func:`certify_packing`; ``metadata`` that is not a dict or has a key or
        value with a newline.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "icosahedron.txt")
    >>> cert = export_packing(icosahedron_lines(), path, metadata={"source": "icosahedron"})
    >>> open(path).read().splitlines()[5]      # D = 4/5 exactly for the exact lines; these are rounded
    '6 3 0.7999999999'
    >>> W, info = read_exported_packing(path)
    >>> W.shape, info["source"], certify_packing(W).decimal == cert.decimal
    ((6, 3), 'icosahedron', True)
    """
    path = as_path(path)
    cert = certify_packing(W, digits=digits)
    digits = cert.digits  # the validated Python int (a numpy int would overflow 10**digits below)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict of provenance (key: value); got {type(metadata).__name__}.")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or any(ch.isspace() or ch == ":" for ch in key):
            raise ValueError(f"metadata keys must be nonempty strings without spaces or ':'; got {key!r}.")
        if "\n" in str(value) or "\r" in str(value):
            raise ValueError(f"metadata values must fit on one line; got {value!r} for {key!r}.")
    lines = [
        f"# {cert.n} lines in R^{cert.d}, one vector per row (a row and its negative span the same line)",
        f"# coherence mu = {cert.decimal} (exact rational arithmetic on these coordinates; "
        f"mu is within {10.0**-digits:.0e} above)",
        f"# squared chordal distance D = 1 - mu^2 = {cert.table_value} (rounded down)",
        f"# active pairs: {cert.num_active} within {cert.atol:.0e} of mu",
        *(f"# {key}: {value}" for key, value in metadata.items()),
        f"{cert.n} {cert.d} {cert.table_value}",
        *(_format_row(row, digits) for row in cert.numerators),
    ]
    with atomic_write(path, text=True) as fh:
        fh.write("\n".join(lines) + "\n")
    return cert


def read_exported_packing(path) -> tuple[np.ndarray, dict]:
    """Read a file written by :func:`export_packing`: the packing and the header.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    W : ndarray, shape (n, d)
        The coordinates as floats (every decimal written with 20 digits maps back to
        the float it came from).
    info : dict
        ``n``, ``d``, ``D`` (the ten-digit squared chordal distance, a string) and the
        ``# key: value`` metadata lines.

    Raises
    ------
    PackingFileNotFoundError, FileFormatError
        A missing path; a folder or a file that is not a regular file (a pipe).
    ValueError
        A file whose first data line is not ``n d D`` or with a number of
        coordinates other than ``n d``.
    """
    path = check_regular_file(path, "path", what="a file written by export_packing")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"path must be a text file written by export_packing; got {str(path)!r}, "
                         "which is not UTF-8 text.") from None
    info: dict = {}
    data: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep and key.strip() and " " not in key.strip():
                info[key.strip()] = value.strip()
        elif line.strip():
            data.append(line)
    head = data[0].split() if data else []
    if len(head) != 3 or not (head[0].isdigit() and head[1].isdigit()) or not _is_decimal(head[2]):
        raise ValueError(
            f"path {str(path)!r}: expected a line 'n d D' before the coordinates (n, d counts, D a "
            f"decimal); got {data[:1]}."
        )
    n, d = int(head[0]), int(head[1])
    if n < 1 or d < 1:
        raise ValueError(f"path {str(path)!r}: expected n >= 1 lines in d >= 1 dimensions; got n={n}, d={d}.")
    try:
        values = [float(x) for line in data[1:] for x in line.split()]
    except ValueError as exc:
        raise ValueError(f"path {str(path)!r}: expected decimal coordinates; got {exc}.") from None
    if len(values) != n * d:
        raise ValueError(f"path {str(path)!r}: expected n*d = {n * d} coordinates; got {len(values)}.")
    if not all(math.isfinite(v) for v in values):
        bad = sorted({str(v) for v in values if not math.isfinite(v)})
        raise ValueError(f"path {str(path)!r}: expected finite coordinates; got {', '.join(bad)}.")
    W = np.array(values).reshape(n, d)
    zero = np.flatnonzero(~W.any(axis=1))
    if zero.size:
        raise ValueError(
            f"path {str(path)!r}: expected a nonzero vector on every row (each spans a line); row "
            f"{int(zero[0])} is all zero."
        )
    info.update(n=n, d=d, D=head[2])
    return W, info


def _is_decimal(text: str) -> bool:
    """Whether ``text`` is a plain decimal number such as ``0.8888888888`` (what export_packing writes)."""
    return bool(re.fullmatch(r"[0-9]+(\.[0-9]*)?", text))
