"""Benchmark: round-trip every MMIO generation of each era x 64 gfns through the spte encoding.

Target (../shared/DESIGN.md): all 2^19 generations x 64 gfns round-trip, every era, in <= 5 s on 2
cores. The NumPy path (kvm_mmio.spte_batch.round_trip_failures) does every pair: encode, then
is_mmio / gfn / access / generation decode, each checked against the era's documented round trip.
The scalar reference (kvm_mmio.spte) runs on a sample of the same pairs, is cross-checked against
the NumPy answers for that sample, and its rate gives the speed-up. A benchmark, not a test:

    .venv/bin/python tools/bench/bench_spte.py [--paging shadow] [--repeat 3] [--sample 65536]
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

from kvm_mmio import spte, spte_batch

TARGET_SECONDS = 5.0


def spread_gfns(profile: spte.Profile, count: int) -> np.ndarray:
    """`count` gfns spread over the whole address width, so L1TF-relocated bits are exercised."""
    limit = profile.gfn_limit
    return np.array([(index * 0x9E3779B97F4A7C15) % limit for index in range(count)], np.uint64)


def time_numpy(profile, gfns, gens, repeat):
    """Seconds of each full run of round_trip_failures, and the failures it counted."""
    times, failures = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        failures = spte_batch.round_trip_failures(profile, gfns, 6, gens)
        times.append(time.perf_counter() - start)
    return times, failures


def time_scalar(profile, gfns, gens):
    """Seconds for the scalar round trip of every (gen, gfn) pair given, and how many pairs
    disagree with the NumPy path on the same pairs."""
    pairs = [(int(gen), int(gfn)) for gen in gens for gfn in gfns]
    start = time.perf_counter()
    decoded = []
    for gen, gfn in pairs:
        value = spte.make_mmio_spte(profile, gfn, 6, gen)
        decoded.append(
            (
                spte.is_mmio_spte(profile, value),
                spte.get_mmio_spte_gfn(profile, value),
                spte.get_mmio_spte_access(profile, value),
                spte.get_mmio_spte_generation(profile, value),
            )
        )
    seconds = time.perf_counter() - start
    sptes = spte_batch.make_mmio_sptes(profile, gfns.reshape(1, -1), 6, gens.reshape(-1, 1))
    batch = zip(
        spte_batch.is_mmio_sptes(profile, sptes).ravel().tolist(),
        spte_batch.get_mmio_spte_gfns(profile, sptes).ravel().tolist(),
        spte_batch.get_mmio_spte_accesses(profile, sptes).ravel().tolist(),
        spte_batch.get_mmio_spte_generations(profile, sptes).ravel().tolist(),
        strict=True,
    )
    disagreements = sum(scalar != tuple(row) for scalar, row in zip(decoded, batch, strict=True))
    return seconds, len(pairs), disagreements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paging", default="shadow", choices=spte.PAGING_MODES)
    parser.add_argument("--gfns", type=int, default=64, help="gfns per generation (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="NumPy runs per era (default 3)")
    parser.add_argument("--sample", type=int, default=65536, help="scalar pairs (default 65536)")
    args = parser.parse_args(argv)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, profile: {args.paging} paging, phys_bits 46, cache_bits 46, "
        f"l1tf on; NumPy time is the median of {args.repeat} runs"
    )
    header = (
        f"{'era':<5} {'gens':>8} {'pairs':>10} {'numpy s':>8} {'pairs/s':>9} {'failures':>8}"
        f" {'scalar pairs':>12} {'scalar s':>8} {'pairs/s':>9} {'agree':>5} {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for era in spte.ERAS:
        profile = spte.Profile(era=era, paging=args.paging, phys_bits=46, cache_bits=46, l1tf=True)
        gfns = spread_gfns(profile, args.gfns)
        gens = np.arange(profile.gen_mask + 1, dtype=np.uint64)
        times, failures = time_numpy(profile, gfns, gens, args.repeat)
        numpy_seconds = statistics.median(times)
        worst = max(worst, numpy_seconds)
        pairs = gens.size * gfns.size
        sample_size = max(1, args.sample // gfns.size)  # generations, evenly spaced
        sample_gens = gens[:: max(1, gens.size // sample_size)][:sample_size]
        scalar_seconds, scalar_pairs, disagreements = time_scalar(profile, gfns, sample_gens)
        numpy_rate = pairs / numpy_seconds
        scalar_rate = scalar_pairs / scalar_seconds
        print(
            f"{era:<5} {gens.size:>8} {pairs:>10} {numpy_seconds:>8.3f} {numpy_rate:>9.2e}"
            f" {failures:>8} {scalar_pairs:>12} {scalar_seconds:>8.3f} {scalar_rate:>9.2e}"
            f" {'yes' if disagreements == 0 else 'NO':>5} {numpy_rate / scalar_rate:>7.0f}x"
        )
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"target: <= {TARGET_SECONDS:.0f} s per era; slowest era {worst:.3f} s: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
