"""The ``hepnb`` command: ``hepnb run`` executes the notebooks; studies add ``hepnb train <study>``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hepnb.errors import InputError

__all__ = ["main"]


def _run(args: argparse.Namespace) -> int:
    from hepnb.report import run_notebooks

    notebooks = [Path(p) for p in args.notebooks] or sorted(Path("notebooks").glob("*.ipynb"))
    runs, _ = run_notebooks(notebooks, Path(args.output), fast=args.fast, timeout=args.timeout)
    return 0 if all(r.ok for r in runs) else 1


def _export(args: argparse.Namespace) -> int:
    import shutil

    from hepnb.training import EpochArchive

    source = EpochArchive(args.source)
    epochs = [int(e) for e in args.epochs.split(",")] if args.epochs else None
    target = source.export(args.destination, epochs=epochs, keep=tuple(args.keep), half=not args.full_precision)
    record = source.path / "training.json"
    if record.exists():
        shutil.copy2(record, target.path / "training.json")
    size = sum(f.stat().st_size for f in target.path.iterdir())
    print(f"{target}: {size / 2**20:.1f} MiB")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hepnb`` command."""
    parser = argparse.ArgumentParser(prog="hepnb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute notebooks headless and write build/ with an HTML report")
    run.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    run.add_argument("--output", default="build", help="build folder (default: build)")
    run.add_argument("--fast", action="store_true", help="set HEPNB_FAST=1: small sizes, every step")
    run.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    run.set_defaults(handler=_run)

    train = commands.add_parser("train", help="train a study's model into an epoch archive (resumable)")
    studies = train.add_subparsers(dest="study", required=True)
    from hepnb.calo import train as calo_train

    calo = studies.add_parser("calo", help="the calorimeter-shower GAN (study 1)")
    calo_train.add_arguments(calo)
    calo.set_defaults(handler=calo_train.run)

    archive = commands.add_parser("archive", help="work with epoch archives")
    archive_commands = archive.add_subparsers(dest="action", required=True)
    export = archive_commands.add_parser("export", help="write a slim copy for shipping (weights only, fp16)")
    export.add_argument("source", help="archive folder")
    export.add_argument("destination", help="new archive folder")
    export.add_argument("--keep", action="append", default=[],
                        help="state-dict prefix to keep, e.g. 'generator.' (repeatable; default: everything)")
    export.add_argument("--epochs", default=None, help="comma-separated epochs (default: all)")
    export.add_argument("--full-precision", action="store_true", help="keep float32 weights")
    export.set_defaults(handler=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hepnb`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except InputError as err:
        print(f"hepnb: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
