"""Counter-based random streams for the synthetic county, vectorised in polars.

Every draw is ``splitmix64(base(seed, stream) + i * golden)`` for row ``i``: the same seed and
stream name give the same numbers on every machine and every polars version (only wrapping
64-bit integer arithmetic is used), and streams are independent, so adding a new field does not
change the values of the others. numpy is not needed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import polars as pl

__all__ = ["Streams"]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


class Streams:
    """Named, independent streams of uniform, normal, categorical ... draws for one seed."""

    def __init__(self, seed: int) -> None:
        self._seed = _mix((seed * _GOLDEN + 1) & _MASK)

    def uniform(self, n: int, stream: str) -> pl.Series:
        """``n`` draws from U[0, 1) (53-bit resolution)."""
        base = _mix(self._seed ^ _mix(zlib.crc32(stream.encode("utf-8")) + 0x1234567))
        z = pl.int_range(0, n, dtype=pl.UInt64) * _u64(_GOLDEN) + _u64(base)
        z = z.xor(z // (1 << 30)) * _u64(_M1)
        z = z.xor(z // (1 << 27)) * _u64(_M2)
        z = z.xor(z // (1 << 31))
        expr = (z // (1 << 11)).cast(pl.Float64) * (2.0**-53)
        return pl.select(expr.alias(stream)).to_series()

    def bernoulli(self, n: int, stream: str, p: float | pl.Series) -> pl.Series:
        """``n`` booleans, true with probability ``p`` (a number or one per row)."""
        return self.uniform(n, stream) < p

    def normal(self, n: int, stream: str, mean: float = 0.0, sd: float = 1.0) -> pl.Series:
        """``n`` draws from N(mean, sd) by Box–Muller."""
        u1 = 1.0 - self.uniform(n, stream + ".1")  # (0, 1]: log is finite
        u2 = self.uniform(n, stream + ".2")
        z = (-2.0 * u1.log()).sqrt() * (2.0 * math.pi * u2).cos()
        return z * sd + mean

    def lognormal(self, n: int, stream: str, median: float, sigma: float) -> pl.Series:
        """``n`` draws of ``median * exp(N(0, sigma))``."""
        return self.normal(n, stream, 0.0, sigma).exp() * median

    def integers(self, n: int, stream: str, low: int, high: int) -> pl.Series:
        """``n`` integers uniform in ``[low, high]`` (inclusive)."""
        return (self.uniform(n, stream) * (high - low + 1)).floor().cast(pl.Int64) + low

    def categorical(self, n: int, stream: str, probs: Sequence[float]) -> pl.Series:
        """``n`` category indices (0-based) drawn with the given probabilities."""
        return pick(self.uniform(n, stream), _cumulative(probs))

    def poisson(self, n: int, stream: str, lam: float) -> pl.Series:
        """``n`` Poisson(lam) counts by inversion (fine for small lam)."""
        pmf = [math.exp(-lam)]
        while sum(pmf) < 1 - 1e-12 and len(pmf) < 200:
            pmf.append(pmf[-1] * lam / len(pmf))
        return self.categorical(n, stream, pmf)

    def beta(self, n: int, stream: str, a: int, b: int) -> pl.Series:
        """``n`` Beta(a, b) draws for whole-number a, b: Gamma(a) / (Gamma(a) + Gamma(b))."""
        ga = sum(
            (-(1.0 - self.uniform(n, f"{stream}.a{i}")).log() for i in range(a)),
            pl.Series([0.0] * n),
        )
        gb = sum(
            (-(1.0 - self.uniform(n, f"{stream}.b{i}")).log() for i in range(b)),
            pl.Series([0.0] * n),
        )
        return ga / (ga + gb)


def _cumulative(probs: Sequence[float]) -> list[float]:
    total = float(sum(probs))
    out, acc = [], 0.0
    for p in probs[:-1]:
        acc += p / total
        out.append(acc)
    return out


def pick(u: pl.Series, thresholds: Sequence[float | pl.Series]) -> pl.Series:
    """Category index of each draw: how many cumulative thresholds it is at or above."""
    index = pl.Series(u.name, [0] * len(u), dtype=pl.Int32)
    for t in thresholds:
        index = index + (u >= t).cast(pl.Int32)
    return index
