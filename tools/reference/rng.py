"""Python twin of ``src/models/lm/rng.ts`` (xoshiro128** + splitmix32 seeding, polar-method normals).

The TypeScript engine draws its sampling uniforms and HiFT source noise from this generator; the fixtures use the
same stream, so golden runs are reproducible in TypeScript bit for bit without storing megabytes of noise. Only
32-bit integer operations and correctly rounded float operations (+ − × ÷ sqrt) are used, exactly as in the TS file.
"""

from __future__ import annotations

import math

import numpy as np

_MASK = 0xFFFFFFFF
_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135623730951


def _imul(a: int, b: int) -> int:
    """``Math.imul`` as unsigned: the low 32 bits of the product."""
    return (a * b) & _MASK


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def deterministic_log(x: float) -> float:
    """``deterministicLog`` of rng.ts: ln via range reduction and an atanh series (engine-independent bits)."""
    m, k = x, 0
    while m < 1:
        m *= 2
        k -= 1
    while m >= 2:
        m /= 2
        k += 1
    if m > _SQRT2:
        m /= 2
        k += 1
    t = (m - 1) / (m + 1)
    t2 = t * t
    series = 0.0
    for n in range(27, 0, -2):
        series = series * t2 + 1 / n
    return k * _LN2 + 2 * t * series


class Xoshiro128:
    """Same stream as ``new Xoshiro128(seed)`` in TypeScript."""

    def __init__(self, seed: int) -> None:
        lo = seed & _MASK
        hi = (seed // 2**32) & _MASK
        x = (lo ^ _imul(hi, 0x9E3779B9) ^ 0x6A09E667) & _MASK

        def nxt() -> int:
            nonlocal x
            x = (x + 0x9E3779B9) & _MASK
            z = x
            z = _imul(z ^ (z >> 16), 0x21F0AAAD)
            z = _imul(z ^ (z >> 15), 0x735A2D97)
            return (z ^ (z >> 15)) & _MASK

        self.s = [nxt(), nxt(), nxt(), nxt()]
        self.spare: float | None = None

    def next_uint32(self) -> int:
        s0, s1, s2, s3 = self.s
        result = _imul(_rotl(_imul(s1, 5), 7), 9)
        t = (s1 << 9) & _MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self) -> float:
        a = self.next_uint32() >> 5
        b = self.next_uint32() >> 6
        return (a * 2**26 + b) * 2.0**-53

    def normal(self) -> float:
        if self.spare is not None:
            value, self.spare = self.spare, None
            return value
        while True:
            u = ((self.next_uint32() >> 6) + 0.5) * 2.0**-26 * 2 - 1
            v = ((self.next_uint32() >> 6) + 0.5) * 2.0**-26 * 2 - 1
            s = u * u + v * v
            if s >= 1 or s == 0:
                continue
            factor = math.sqrt((-2 * deterministic_log(s)) / s)
            self.spare = v * factor
            return u * factor

    def normals(self, n: int) -> np.ndarray:
        """``n`` normal draws as float64 (the TS side fills a Float32Array/Float64Array in the same order)."""
        return np.array([self.normal() for _ in range(n)], dtype=np.float64)

    def uniforms(self, n: int) -> np.ndarray:
        return np.array([self.uniform() for _ in range(n)], dtype=np.float64)
