"""Benchmark: round-trip every MMIO generation of each era x 64 gfns through the spte encoding.

A thin script over kvm_mmio_tools.bench_spte (which `kvm-mmio bench` uses too): target and method
are described there. A benchmark, not a test:

    .venv/bin/python tools/bench/bench_spte.py [--paging shadow] [--repeat 3] [--sample 65536]
"""

import argparse
import importlib.metadata
import os
import platform
import sys

from kvm_mmio import spte
from kvm_mmio_tools.bench_spte import TARGET_SECONDS, bench_era, numpy_missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paging", default="shadow", choices=spte.PAGING_MODES)
    parser.add_argument("--gfns", type=int, default=64, help="gfns per generation (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="NumPy runs per era (default 3)")
    parser.add_argument("--sample", type=int, default=65536, help="scalar pairs (default 65536)")
    args = parser.parse_args(argv)
    if (missing := numpy_missing()) is not None:
        print(f"bench_spte: {missing}", file=sys.stderr)
        return 2

    print(
        f"python {platform.python_version()}, numpy {importlib.metadata.version('numpy')}, "
        f"{os.cpu_count()} CPUs, profile: {args.paging} "
        f"paging, phys_bits 46, cache_bits 46, l1tf on; NumPy time is the median of "
        f"{args.repeat} runs"
    )
    header = (
        f"{'era':<5} {'gens':>8} {'pairs':>10} {'numpy s':>8} {'pairs/s':>9} {'failures':>8}"
        f" {'scalar pairs':>12} {'scalar s':>8} {'pairs/s':>9} {'agree':>5} {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for era in spte.ERAS:
        row = bench_era(
            era, paging=args.paging, gfns=args.gfns, repeat=args.repeat, sample=args.sample
        )
        worst = max(worst, row.numpy_seconds)
        print(
            f"{era:<5} {row.generations:>8} {row.pairs:>10} {row.numpy_seconds:>8.3f}"
            f" {row.numpy_rate:>9.2e} {row.failures:>8} {row.scalar_pairs:>12}"
            f" {row.scalar_seconds:>8.3f} {row.scalar_rate:>9.2e}"
            f" {'yes' if row.disagreements == 0 else 'NO':>5} {row.speed_up:>7.0f}x"
        )
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"target: <= {TARGET_SECONDS:.0f} s per era; slowest era {worst:.3f} s: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
