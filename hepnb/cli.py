"""The ``hepnb`` command: ``hepnb run`` executes the notebooks; studies add ``hepnb train <study>`` and
``hepnb data <dataset>``.

Building the parser imports no torch, Pythia or FastJet (a study's options live in a module that imports them
only when its command runs), so ``hepnb --help`` and mistyped options answer at once. Bad input, damaged archives
and path errors end as one ``hepnb: error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hepnb.errors import CheckpointError, InputError
from hepnb.training.command import epoch_list, non_negative_int, positive_int

__all__ = ["build_parser", "epoch_list", "main", "non_negative_int", "positive_int"]


def _run(args: argparse.Namespace) -> int:
    from hepnb.notebook_parameters import parse_parameter
    from hepnb.report import run_notebooks

    notebooks = [Path(p) for p in args.notebooks] or sorted(Path("notebooks").glob("*.ipynb"))
    parameters = {name: parse_parameter(value) for name, value in args.parameters}
    runs, _ = run_notebooks(
        notebooks,
        Path(args.output),
        fast=args.fast,
        timeout=args.timeout,
        stall_timeout=args.stall_timeout,
        parameters=parameters,
    )
    return 0 if all(r.ok for r in runs) else 1


def _export(args: argparse.Namespace) -> int:
    import shutil

    from hepnb.training import EpochArchive

    source = EpochArchive(args.source)
    available = source.epochs
    if not available:
        raise InputError(f"{source.path} holds no epoch archive (no checkpoint in its index.json): check the path")
    unknown = sorted(set(args.epochs or ()) - set(available))
    if unknown:
        raise InputError(f"{source.path} has no checkpoint for epochs {unknown}; it holds {available}")
    destination = Path(args.destination)
    if destination.exists() and not destination.is_dir():
        raise InputError(f"{destination} is a file: export into a new folder")
    target = source.export(destination, epochs=args.epochs, keep=tuple(args.keep), half=not args.full_precision)
    record = source.path / "training.json"
    if record.exists():
        shutil.copy2(record, target.path / "training.json")
    size = sum(f.stat().st_size for f in target.path.iterdir())
    print(f"{target}: {size / 2**20:.1f} MiB")
    return 0


def _compact(args: argparse.Namespace) -> int:
    from hepnb.training import EpochArchive, compact_checkpoints

    archive = EpochArchive(args.archive)
    before = sum(f.stat().st_size for f in archive.path.glob("*.ckpt"))
    compact_checkpoints(archive, args.epochs, keep=tuple(args.keep), half=not args.full_precision)
    after = sum(f.stat().st_size for f in archive.path.glob("*.ckpt"))
    print(f"{archive}: checkpoints {before / 2**20:.1f} -> {after / 2**20:.1f} MiB")
    return 0


def _data_jets(args: argparse.Namespace) -> int:
    from hepnb.jets.generate import generate_jets  # Pythia and FastJet load only when jets are generated

    run = generate_jets(
        args.output,
        args.jets,
        preset=args.preset,
        jet_class=args.jet_class,
        seed=args.seed,
        workers=args.workers,
        chunk_jets=args.chunk_jets,
    )
    print(run.summary())
    return 0


def _data_subset(args: argparse.Namespace) -> int:
    from hepnb.jets.subset import describe, write_subset  # FastJet loads for the substructure

    write_subset(args.source, args.output, max_constituents=args.constituents, n_jets=args.jets)
    print(describe(args.output))
    return 0


def _add_data(commands: argparse._SubParsersAction) -> None:
    from hepnb.jets.presets import JET_CLASSES, PRESETS  # numpy only: no Pythia, FastJet or awkward

    data = commands.add_parser("data", help="generate a study's dataset (resumable)")
    datasets = data.add_subparsers(dest="dataset", required=True)
    jets = datasets.add_parser(
        "jets",
        help="real jets from Pythia 8 + FastJet anti-kT R=0.8 (jet-generation study)",
        description="Generate jets into a folder of parquet chunks; run the same command "
        "again to resume a killed run or extend the dataset.",
    )
    jets.add_argument("--output", required=True, help="dataset folder (created; an existing one is resumed)")
    jets.add_argument("--jets", type=positive_int, required=True, help="number of jets in the dataset")
    jets.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="jetnet",
        help="jetnet: 13 TeV, ~1 TeV jets, 30 particles; thesis: 14 TeV, 550-650 GeV, 100 particles (default: jetnet)",
    )
    jets.add_argument(
        "--class",
        dest="jet_class",
        choices=JET_CLASSES,
        default="top",
        help="top (truth-matched all-hadronic ttbar), qcd (HardQCD:all), gluon or quark (labelled by "
        "the nearest hard parton) (default: top)",
    )
    jets.add_argument(
        "--seed", type=non_negative_int, default=1, help="the same seed gives the same files (default: 1)"
    )
    jets.add_argument(
        "--workers", type=positive_int, default=None, help="processes, one Pythia each (default: all cores)"
    )
    jets.add_argument(
        "--chunk-jets",
        type=positive_int,
        default=1000,
        help="jets per chunk file, the unit of resuming (default: 1000; changes the jets a seed gives)",
    )
    jets.set_defaults(handler=_data_jets)
    subset = datasets.add_parser(
        "subset",
        help="a jet dataset slimmed for shipping: hardest constituents only, "
        "substructure (tau_N, C2, D2 on all constituents) added",
        description="Copy the first jets of a `hepnb data jets` folder into a new folder, "
        "keeping the hardest constituents and adding the jet substructure.",
    )
    subset.add_argument("source", help="dataset folder written by `hepnb data jets`")
    subset.add_argument("output", help="new dataset folder (must not exist yet)")
    subset.add_argument(
        "--constituents",
        type=positive_int,
        default=None,
        help="constituents kept per jet (default: the preset's, 30 for jetnet)",
    )
    subset.add_argument("--jets", type=positive_int, default=None, help="jets kept (default: all)")
    subset.set_defaults(handler=_data_subset)


def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="execute notebooks headless and write build/ with an HTML report")
    run.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    run.add_argument("--output", default="build", help="build folder (default: build)")
    run.add_argument("--fast", action="store_true", help="run the kernels with HEPNB_FAST=1: small sizes, every step")
    run.add_argument("--timeout", type=positive_int, default=3600, help="seconds allowed per cell (default: 3600)")
    run.add_argument(
        "--stall-timeout",
        type=positive_int,
        default=600,
        help="seconds a cell may wait for its reply while the kernel uses no CPU before the notebook is "
        "run again from the start, once (default: 600)",
    )
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        dest="parameters",
        metavar=("NAME", "VALUE"),
        help="set NAME after the cell tagged 'parameters' (repeatable); VALUE is read as a Python "
        "literal, else as a string",
    )
    run.set_defaults(handler=_run)


def _add_train(commands: argparse._SubParsersAction) -> None:
    from hepnb.calo import train as calo_train  # their module levels import no torch
    from hepnb.calo import train_response
    from hepnb.jets import train as jets_train

    train = commands.add_parser("train", help="train a study's model into an epoch archive (resumable)")
    studies = train.add_subparsers(dest="study", required=True)
    calo = studies.add_parser("calo", help="the calorimeter-shower GAN (study 1)")
    calo_train.add_arguments(calo)
    calo.set_defaults(handler=calo_train.run)
    response = studies.add_parser(
        "calo-response", help="the response flow that calo GAN showers can take their total from (study 1)"
    )
    train_response.add_arguments(response)
    response.set_defaults(handler=train_response.run)
    jets = studies.add_parser(
        "jets", help="the particle-cloud jet GANs: the thesis's Set-Transformer GAN or EPiC-GAN (study 5)"
    )
    jets_train.add_arguments(jets)
    jets.set_defaults(handler=jets_train.run)


def _add_archive(commands: argparse._SubParsersAction) -> None:
    archive = commands.add_parser("archive", help="work with epoch archives")
    archive_commands = archive.add_subparsers(dest="action", required=True)
    export = archive_commands.add_parser("export", help="write a slim copy for shipping (weights only, fp16)")
    export.add_argument("source", help="archive folder")
    export.add_argument("destination", help="new archive folder")
    export.add_argument(
        "--keep",
        action="append",
        default=[],
        help="state-dict prefix to keep, e.g. 'generator.' (repeatable; default: everything)",
    )
    export.add_argument("--epochs", type=epoch_list, default=None, help="comma-separated epochs (default: all)")
    export.add_argument("--full-precision", action="store_true", help="keep float32 weights")
    export.set_defaults(handler=_export)
    compact = archive_commands.add_parser(
        "compact", help="slim older checkpoints in place (weights only, fp16); the last one stays resumable"
    )
    compact.add_argument("archive", help="archive folder (not being trained)")
    compact.add_argument(
        "--epochs", type=epoch_list, default=None, help="comma-separated epochs (default: all but the last)"
    )
    compact.add_argument(
        "--keep", action="append", default=[], help="state-dict prefix to keep (repeatable; default: everything)"
    )
    compact.add_argument("--full-precision", action="store_true", help="keep float32 weights")
    compact.set_defaults(handler=_compact)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hepnb`` command."""
    parser = argparse.ArgumentParser(prog="hepnb", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run(commands)
    _add_train(commands)
    _add_data(commands)
    _add_archive(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hepnb`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (InputError, CheckpointError, OSError) as err:
        print(f"hepnb: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
