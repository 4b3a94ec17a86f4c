"""Latency histograms: log-linear buckets, cheap to fill in a hot loop, merged by adding counts.

Values are whole microseconds. Below 2.048 ms each microsecond has its own bucket; above, buckets
are 1/1024 of their power of two wide (0.1 %), so percentiles are exact to 0.1 % at any scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SUB_BITS = 10
SUB = 1 << SUB_BITS
LINEAR = 2 * SUB


def bucket_of(micros: int) -> int:
    """The bucket of a value in microseconds (negative values, from clock skew, count as 0)."""
    if micros < LINEAR:
        return micros if micros > 0 else 0
    shift = micros.bit_length() - SUB_BITS - 1
    return SUB * shift + (micros >> shift)


def bucket_floor(bucket: int) -> int:
    """The smallest value in microseconds that falls into `bucket`."""
    if bucket < LINEAR:
        return bucket
    shift = bucket // SUB - 1
    return (bucket - SUB * shift) << shift


def bucket_middle(bucket: int) -> float:
    """The middle of a bucket's range, in microseconds."""
    if bucket < LINEAR:
        return float(bucket)
    shift = bucket // SUB - 1
    return bucket_floor(bucket) + ((1 << shift) - 1) / 2


class Histogram:
    """Counts per bucket; `record` is the only method meant for hot paths."""

    __slots__ = ("counts",)

    def __init__(self, counts: Mapping[int, int] | None = None) -> None:
        self.counts: dict[int, int] = dict(counts or {})

    def record(self, micros: int) -> None:
        bucket = bucket_of(micros)
        counts = self.counts
        counts[bucket] = counts.get(bucket, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, others: Iterable[Histogram]) -> Histogram:
        """A new histogram with the counts of this one and of `others`."""
        merged = dict(self.counts)
        for other in others:
            for bucket, count in other.counts.items():
                merged[bucket] = merged.get(bucket, 0) + count
        return Histogram(merged)

    def percentile_ms(self, fraction: float) -> float | None:
        """The value below which `fraction` of the samples fall, in milliseconds; None if empty."""
        total = self.total
        if total == 0:
            return None
        rank = max(1, round(fraction * total))
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return bucket_middle(bucket) / 1000
        raise AssertionError("unreachable: ranks never exceed the total")

    def max_ms(self) -> float | None:
        return bucket_middle(max(self.counts)) / 1000 if self.counts else None

    def to_json(self) -> dict[str, int]:
        return {str(bucket): count for bucket, count in sorted(self.counts.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, int]) -> Histogram:
        return cls({int(bucket): int(count) for bucket, count in data.items()})
