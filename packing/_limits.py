"""The memory limit that every size guard of :mod:`packing` checks against.

Functions whose memory grows with their sizes (``O(n d)``, ``O(n²)``,
``O(instances · batch · n)`` …) estimate what a call would need before they
allocate anything and refuse, with :class:`ResourceLimitError`, a call that
would need more than the limit (see :func:`packing._validation.check_memory`).

The default limit is half of the machine's physical memory (``os.sysconf``;
``MemTotal`` of ``/proc/meminfo`` where ``sysconf`` cannot tell; 8 GiB if
neither can; a container's cgroup memory limit if that is lower), or the
number of bytes in the environment variable
``PACKING_MEMORY_LIMIT`` when it is set. :func:`set_memory_limit` overrides it
for the session.
"""

from __future__ import annotations

import numbers
import os

__all__ = ["ResourceLimitError", "get_memory_limit", "set_memory_limit"]

#: Fraction of physical memory allowed by default.
DEFAULT_FRACTION = 0.5
#: The environment variable that sets the default limit in bytes.
ENV_VAR = "PACKING_MEMORY_LIMIT"
_FALLBACK = 8 * 2**30

_limit: int | None = None  # set by set_memory_limit; None: the default


class ResourceLimitError(ValueError, MemoryError):
    """A call would need more memory than :func:`packing.get_memory_limit` allows.

    Raised before anything is allocated; the message says how much the call would
    need and which arguments make it that large. It is a ``ValueError`` (the
    arguments are too large for the machine) and a ``MemoryError``.
    """


ResourceLimitError.__module__ = "packing"  # public as packing.ResourceLimitError


#: Where a container's memory limit is read (cgroup v2, then v1).
_CGROUP_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def _cgroup_limit() -> int | None:
    """Return the memory limit of this process's control group, if one is set below 2**60 bytes."""
    for path in _CGROUP_FILES:
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def physical_memory() -> int:
    """Bytes of memory this process can have: the machine's, or its container's limit if lower."""
    machine = _machine_memory()
    limit = _cgroup_limit()
    return min(machine, limit) if limit else machine


def _machine_memory() -> int:
    """Bytes of physical memory of this machine (8 GiB if the system cannot tell)."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    except (AttributeError, ValueError, OSError):
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _FALLBACK


def _check_limit(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number of bytes (an int >= 1) or None; got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1 byte; got {int(value)}.")
    return int(value)


def default_memory_limit() -> tuple[int, str]:
    """Return the default limit in bytes and where it comes from."""
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip():
        try:
            value = int(env.strip())
        except ValueError:
            raise ValueError(
                f"the environment variable {ENV_VAR} must be a whole number of bytes; got {env!r}."
            ) from None
        return _check_limit(value, f"the environment variable {ENV_VAR}"), f"${ENV_VAR}"
    return int(DEFAULT_FRACTION * physical_memory()), "half of physical memory"


def get_memory_limit() -> int:
    """Return the memory limit in bytes that size guards check against.

    Examples
    --------
    >>> get_memory_limit() > 0
    True
    """
    return memory_limit_and_source()[0]


def memory_limit_and_source() -> tuple[int, str]:
    """Return the limit in bytes and a few words on where it comes from (for messages)."""
    if _limit is not None:
        return _limit, "set by packing.set_memory_limit"
    return default_memory_limit()


def set_memory_limit(limit) -> int | None:
    """Set the memory limit (bytes) of the size guards for this session; ``None`` restores the default.

    The default is half of the physical memory (or ``$PACKING_MEMORY_LIMIT``).
    Returns the previous setting (``None`` when it was the default), so a caller
    can restore it.

    Parameters
    ----------
    limit : int or None
        Bytes, ``>= 1``.

    Returns
    -------
    int or None

    Examples
    --------
    >>> previous = set_memory_limit(2**20)
    >>> try:
    ...     random_packing(1000, 1000)
    ... finally:
    ...     _ = set_memory_limit(previous)
    Traceback (most recent call last):
    ...
    packing.ResourceLimitError: random_packing(n=1000, d=1000) would need about 15.3 MiB ...
    >>> set_memory_limit("1GB")
    Traceback (most recent call last):
    ...
    TypeError: limit must be a whole number of bytes (an int >= 1) or None; got '1GB'.
    """
    global _limit
    new = None if limit is None else _check_limit(limit, "limit")
    previous, _limit = _limit, new
    return previous


def format_bytes(nbytes) -> str:
    """Human-readable size: ``"7.6 MiB"``; huge counts as a power of ten.

    Examples
    --------
    >>> format_bytes(512), format_bytes(3 * 2**30), format_bytes(10**40)
    ('512 bytes', '3.0 GiB', '1e+40 bytes')
    """
    nbytes = int(nbytes)
    if nbytes < 1024:
        return f"{nbytes} bytes"
    for unit, power in (("KiB", 1), ("MiB", 2), ("GiB", 3), ("TiB", 4), ("PiB", 5), ("EiB", 6)):
        if nbytes < 1024 ** (power + 1) or unit == "EiB":
            value = nbytes / 1024**power
            if value < 1024:
                return f"{value:.1f} {unit}"
    digits = len(str(nbytes)) if nbytes.bit_length() < 14_000 else int(nbytes.bit_length() * 0.30103) + 1
    return f"1e+{digits - 1} bytes"
