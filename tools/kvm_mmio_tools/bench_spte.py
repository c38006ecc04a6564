"""Benchmark of the MMIO spte encoding: every generation of each era x many gfns, round-tripped.

Why: ../shared/DESIGN.md sets a target (all 2^19 generations x 64 gfns round-trip, every era, in
<= 5 s). The NumPy path (kvm_mmio.spte_batch.round_trip_failures) does every pair: encode, then
is_mmio / gfn / access / generation decode, each checked against the era's documented round trip.
The scalar reference (kvm_mmio.spte) runs on an evenly spaced sample of the same pairs, is
cross-checked against the NumPy answers for that sample, and its rate gives the speed-up.
Used by `kvm-mmio bench` and by the script tools/bench/bench_spte.py. NumPy is the optional extra
"fast"; without it, ``numpy_missing()`` says so and nothing here can run.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from typing import Any

import attrs

from kvm_mmio import spte

__all__ = [
    "ACCESS",
    "TARGET_SECONDS",
    "EraBench",
    "bench_era",
    "bench_spte",
    "numpy_missing",
    "profile_of",
    "spread_gfns",
    "time_numpy",
    "time_scalar",
]

TARGET_SECONDS = 5.0
ACCESS = 6  # ACC_WRITE_MASK | ACC_USER_MASK: the access bits every pair is encoded with


@attrs.frozen
class EraBench:
    """One era's figures: the NumPy pass over every pair, the scalar sample, and whether the two
    agree (``failures``: pairs that did not round-trip; ``disagreements``: sample pairs where
    the scalar and NumPy decodings differ)."""

    era: str
    generations: int
    gfns: int
    pairs: int
    numpy_seconds: float
    failures: int
    scalar_pairs: int
    scalar_seconds: float
    disagreements: int

    @property
    def numpy_rate(self) -> float:
        return self.pairs / self.numpy_seconds if self.numpy_seconds > 0 else 0.0

    @property
    def scalar_rate(self) -> float:
        return self.scalar_pairs / self.scalar_seconds if self.scalar_seconds > 0 else 0.0

    @property
    def speed_up(self) -> float:
        return self.numpy_rate / self.scalar_rate if self.scalar_rate > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "era": self.era,
            "generations": self.generations,
            "gfns": self.gfns,
            "pairs": self.pairs,
            "numpy_seconds": round(self.numpy_seconds, 4),
            "numpy_pairs_per_second": round(self.numpy_rate),
            "failures": self.failures,
            "scalar_pairs": self.scalar_pairs,
            "scalar_seconds": round(self.scalar_seconds, 4),
            "scalar_pairs_per_second": round(self.scalar_rate),
            "disagreements": self.disagreements,
            "speed_up": round(self.speed_up, 1),
        }


def numpy_missing() -> str | None:
    """Why the NumPy path cannot run here, or None when it can."""
    if importlib.util.find_spec("numpy") is None:
        return "needs NumPy, the optional extra 'fast': pip install 'kvm-mmio-spec[fast]'"
    return None


def spread_gfns(profile: spte.Profile, count: int) -> Any:
    """``count`` gfns spread over the whole address width, so L1TF-relocated bits are exercised."""
    import numpy as np

    limit = profile.gfn_limit
    return np.array([(index * 0x9E3779B97F4A7C15) % limit for index in range(count)], np.uint64)


def time_numpy(profile: spte.Profile, gfns: Any, gens: Any, repeat: int) -> tuple[list, int]:
    """Seconds of each full run of round_trip_failures, and the failures it counted."""
    from kvm_mmio import spte_batch

    times, failures = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        failures = int(spte_batch.round_trip_failures(profile, gfns, ACCESS, gens))
        times.append(time.perf_counter() - start)
    return times, failures


def time_scalar(profile: spte.Profile, gfns: Any, gens: Any) -> tuple[float, int, int]:
    """Seconds for the scalar round trip of every (gen, gfn) pair given, the number of pairs, and
    how many of them disagree with the NumPy path on the same pairs."""
    from kvm_mmio import spte_batch

    pairs = [(int(gen), int(gfn)) for gen in gens for gfn in gfns]
    start = time.perf_counter()
    decoded = []
    for gen, gfn in pairs:
        value = spte.make_mmio_spte(profile, gfn, ACCESS, gen)
        decoded.append(
            (
                spte.is_mmio_spte(profile, value),
                spte.get_mmio_spte_gfn(profile, value),
                spte.get_mmio_spte_access(profile, value),
                spte.get_mmio_spte_generation(profile, value),
            )
        )
    seconds = time.perf_counter() - start
    sptes = spte_batch.make_mmio_sptes(profile, gfns.reshape(1, -1), ACCESS, gens.reshape(-1, 1))
    batch = zip(
        spte_batch.is_mmio_sptes(profile, sptes).ravel().tolist(),
        spte_batch.get_mmio_spte_gfns(profile, sptes).ravel().tolist(),
        spte_batch.get_mmio_spte_accesses(profile, sptes).ravel().tolist(),
        spte_batch.get_mmio_spte_generations(profile, sptes).ravel().tolist(),
        strict=True,
    )
    disagreements = sum(scalar != tuple(row) for scalar, row in zip(decoded, batch, strict=True))
    return seconds, len(pairs), disagreements


def profile_of(era: str, paging: str) -> spte.Profile:
    """The profile every figure is measured on: 46 physical bits, L1TF mitigation on."""
    return spte.Profile(era=era, paging=paging, phys_bits=46, cache_bits=46, l1tf=True)


def bench_era(era: str, *, paging: str, gfns: int, repeat: int, sample: int) -> EraBench:
    """Every generation of ``era`` x ``gfns`` gfns through NumPy (median of ``repeat`` runs), and
    about ``sample`` of the same pairs through the scalar reference."""
    import numpy as np

    profile = profile_of(era, paging)
    gfn_array = spread_gfns(profile, gfns)
    gens = np.arange(profile.gen_mask + 1, dtype=np.uint64)
    times, failures = time_numpy(profile, gfn_array, gens, repeat)
    sample_size = max(1, sample // gfn_array.size)  # generations, evenly spaced
    sample_gens = gens[:: max(1, gens.size // sample_size)][:sample_size]
    scalar_seconds, scalar_pairs, disagreements = time_scalar(profile, gfn_array, sample_gens)
    return EraBench(
        era=era,
        generations=int(gens.size),
        gfns=int(gfn_array.size),
        pairs=int(gens.size * gfn_array.size),
        numpy_seconds=statistics.median(times),
        failures=failures,
        scalar_pairs=scalar_pairs,
        scalar_seconds=scalar_seconds,
        disagreements=disagreements,
    )


def bench_spte(
    *, paging: str = "shadow", gfns: int = 64, repeat: int = 1, sample: int = 16384
) -> list[EraBench]:
    """``bench_era`` for every era, in kvm_mmio.spte.ERAS order."""
    return [
        bench_era(era, paging=paging, gfns=gfns, repeat=repeat, sample=sample) for era in spte.ERAS
    ]
