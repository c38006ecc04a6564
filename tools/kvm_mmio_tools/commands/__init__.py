"""One module per `kvm-mmio` subcommand; each exposes register(subparsers)."""
