"""`kvm-mmio spte`: encode, decode and batch-answer MMIO sptes of one kernel era, bit for bit.

A thin layer over kvm_mmio.spte (the arithmetic) and kvm_mmio.spte_requests (the batch protocol):
this module only parses arguments, reads stdin and prints.
"""

import argparse
import re
import sys

import attrs

from kvm_mmio.spte import (
    ERAS,
    PAGING_MODES,
    PHYS_BITS_RANGE,
    Profile,
    describe,
    get_mmio_spte_access,
    get_mmio_spte_generation,
    get_mmio_spte_gfn,
    is_mmio_spte,
    make_mmio_spte,
)
from kvm_mmio.spte_requests import answer_bytes, format_u64
from kvm_mmio_tools.errors import UsageError

_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+)|([0-9]+)")

EXIT_STATUSES = {1: None, 3: None, 4: None}


def parse_number(field: str, text: str) -> int:
    """A command-line number, 0x-hex or decimal; ranges are checked by kvm_mmio.spte."""
    match = _NUMBER.fullmatch(text)
    if not match:
        raise UsageError(f"{field}: expected a hex (0x1f) or decimal number, got {text!r}")
    return int(text, 16) if match.group(1) else int(text, 10)


def _add_profile_options(parser: argparse.ArgumentParser) -> None:
    defaults = {field.name: field.default for field in attrs.fields(Profile)}
    low, high = PHYS_BITS_RANGE
    group = parser.add_argument_group("kernel profile")
    group.add_argument(
        "--era", default=defaults["era"], help=f"{', '.join(ERAS)} (default %(default)s)"
    )
    group.add_argument(
        "--paging",
        default=defaults["paging"],
        help=f"{' or '.join(PAGING_MODES)} (default %(default)s)",
    )
    group.add_argument(
        "--phys-bits",
        default=str(defaults["phys_bits"]),
        help=f"x86_phys_bits, {low}..{high} (default %(default)s)",
    )
    group.add_argument(
        "--cache-bits",
        default=str(defaults["cache_bits"]),
        help="x86_cache_bits, phys-bits..52 (default %(default)s)",
    )
    group.add_argument(
        "--l1tf",
        action=argparse.BooleanOptionalAction,
        default=defaults["l1tf"],
        help="the CPU has the L1TF bug (default: yes)",
    )


def _profile(args: argparse.Namespace) -> Profile:
    return Profile(
        era=args.era,
        paging=args.paging,
        phys_bits=parse_number("phys_bits", args.phys_bits),
        cache_bits=parse_number("cache_bits", args.cache_bits),
        l1tf=args.l1tf,
    )


def run_encode(args: argparse.Namespace) -> int:
    profile = _profile(args)
    gfn = parse_number("gfn", args.gfn)
    access = parse_number("access", args.access)
    gen = parse_number("gen", args.gen)
    print(format_u64(make_mmio_spte(profile, gfn, access, gen)))
    return 0


def _profile_line(profile: Profile) -> str:
    return (
        f"era {profile.era}, {profile.paging} paging, phys_bits {profile.phys_bits}, "
        f"cache_bits {profile.cache_bits}, l1tf {'yes' if profile.l1tf else 'no'}"
    )


def run_decode(args: argparse.Namespace) -> int:
    profile = _profile(args)
    spte = parse_number("spte", args.spte)
    fields = describe(profile, spte)  # validates spte before anything is printed
    lines = [
        f"spte     {format_u64(spte)}",
        f"profile  {_profile_line(profile)}",
        f"is_mmio  {'yes' if is_mmio_spte(profile, spte) else 'no'}",
        f"gfn      {format_u64(get_mmio_spte_gfn(profile, spte))}",
        f"access   {get_mmio_spte_access(profile, spte):#x}",
        f"gen      {format_u64(get_mmio_spte_generation(profile, spte))}"
        f"  (hits while memslots generation & {profile.gen_mask:#x} equals it, no update"
        f" in progress)",
    ]
    if profile.known_bug:
        lines.append(f"bug      {profile.known_bug}")
    bits_width = max(len("bits"), *(len(field.bits) for field in fields))
    name_width = max(len(field.name) for field in fields)
    lines.append("")
    lines.append(f"{'bits':<{bits_width}}  {'field':<{name_width}}  value")
    for field in fields:
        lines.append(f"{field.bits:<{bits_width}}  {field.name:<{name_width}}  {field.value:#x}")
    print("\n".join(lines))
    return 0


def run_batch(_args: argparse.Namespace) -> int:
    """One answer line per stdin line, blank lines and undecodable bytes included."""
    for raw in sys.stdin.buffer:
        print(answer_bytes(raw.removesuffix(b"\n")), flush=True)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "spte",
        help="encode and decode x86 MMIO sptes of a kernel era, bit for bit",
        description="Encode and decode KVM x86 MMIO sptes exactly as a given kernel era does. "
        "Numbers are 0x-hex or decimal.",
    )
    actions = parser.add_subparsers(dest="spte_action", required=True, metavar="ACTION")

    encode = actions.add_parser("encode", help="print the MMIO spte make_mmio_spte builds")
    encode.add_argument("--gfn", required=True, help="guest frame number")
    encode.add_argument("--access", required=True, help="ACC_* bits 0..7 (EXEC 1, WRITE 2, USER 4)")
    encode.add_argument("--gen", required=True, help="MMIO generation (memslots gen & gen mask)")
    _add_profile_options(encode)
    encode.set_defaults(handler=run_encode)

    decode = actions.add_parser("decode", help="print every field of an spte and its bit layout")
    decode.add_argument("spte", help="the 64-bit spte")
    _add_profile_options(decode)
    decode.set_defaults(handler=run_decode)

    batch = actions.add_parser(
        "batch",
        help="answer JSON-lines requests on stdin, one JSON line each on stdout",
        description="Each stdin line is a request {op: encode|decode|check, profile: {era, paging, "
        "phys_bits, cache_bits, l1tf}, ...}; 64-bit values are 0x-hex strings. Every line gets "
        "exactly one answer line: a bad one (blank, not UTF-8, not JSON, malformed) is answered "
        '{"error": ...} and the next line is read. See kvm_mmio.spte_requests.',
    )
    batch.set_defaults(handler=run_batch)
