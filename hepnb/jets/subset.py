"""A jet dataset slimmed for shipping in ``data/``: the hardest constituents only, substructure precomputed.

A dataset from ``hepnb data jets`` keeps every stable visible particle of each jet (about 90 at 1 TeV, 2 kB per
jet on disk). The generation and decorrelation studies only read the ``preset.n_particles`` hardest constituents
(JetNet keeps 30, arXiv:2106.11535) and jet-level substructure, so :func:`write_subset` keeps exactly that: the
same jet records with ``constituents`` cut to the hardest ``max_constituents`` and the substructure of
:func:`hepnb.jets.substructure_table` (tau1-3, tau21, tau32, e2, e3, C2, D2) computed on *all* constituents before
the cut added as jet fields. ``n_constituents`` keeps the full count. The result is a dataset folder that
:func:`hepnb.jets.read_jets` reads like any other; its ``dataset.json`` records the source dataset's settings under
``"subset"``. The same source gives the same bytes.

>>> import tempfile
>>> from pathlib import Path
>>> import awkward as ak
>>> from hepnb.jets import generate_jets, read_jets
>>> from hepnb.jets.subset import write_subset
>>> folder = tempfile.TemporaryDirectory()
>>> full, slim = Path(folder.name) / "qcd", Path(folder.name) / "qcd_slim"
>>> run = generate_jets(full, 20, preset="jetnet", jet_class="qcd", seed=1, workers=1, chunk_jets=20, progress=False)
>>> write_subset(full, slim, max_constituents=10) == slim
True
>>> jets = read_jets(slim).jets
>>> len(jets), int(ak.max(ak.num(jets.constituents))), "tau21" in jets.fields
(20, 10, True)
>>> folder.cleanup()

The command line does the same: ``hepnb data subset build/jets/top data/jets/jetnet_top``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepnb.errors import InputError, is_whole_number
from hepnb.jets.io import MANIFEST, chunk_path, read_jets, write_chunk, write_manifest
from hepnb.jets.substructure import substructure_table

__all__ = ["write_subset", "describe", "SUBSTRUCTURE_FIELDS"]

SUBSTRUCTURE_FIELDS = ("tau1", "tau2", "tau3", "tau21", "tau32", "e2", "e3", "c2", "d2")


def write_subset(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    max_constituents: int | None = None,
    n_jets: int | None = None,
    chunk_jets: int = 5000,
    progress: bool = True,
) -> Path:
    """Write the first ``n_jets`` jets of ``source`` into the new dataset folder ``output``, slimmed for shipping.

    Parameters
    ----------
    source
        A dataset folder written by ``hepnb data jets``.
    output
        The new dataset folder; it must not exist yet (or be empty), so that nothing already written is replaced.
    max_constituents
        Constituents kept per jet, hardest first (default: the preset's ``n_particles``: 30 for ``jetnet``).
    n_jets
        Jets kept, the first ones in the source's order (default: all).
    chunk_jets
        Jets per parquet chunk.
    progress
        Show a tqdm bar while the substructure is computed.

    Returns
    -------
    The output folder.
    """
    sample = read_jets(source)
    if "subset" in sample.meta:
        raise InputError(
            f"{source} is already a subset (of {sample.meta['subset']['source']}); slim the full "
            "dataset that `hepnb data jets` wrote instead"
        )
    keep = sample.preset.n_particles if max_constituents is None else max_constituents
    total = len(sample) if n_jets is None else n_jets
    for name, value in (("max_constituents", keep), ("n_jets", total), ("chunk_jets", chunk_jets)):
        if not is_whole_number(value) or value < 1:
            raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
    if total > len(sample):
        raise InputError(
            f"{source} holds {len(sample)} jets, fewer than the n_jets={total} asked for; generate "
            f"more with the same `hepnb data jets` command and --jets {total}"
        )
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise InputError(f"{output} already exists and is not an empty folder; choose a new folder or delete it")
    output.mkdir(parents=True, exist_ok=True)

    jets = sample.jets[:total]
    c = jets.constituents
    table = substructure_table(c.pt, c.eta, c.phi, progress=progress)
    fields: dict[str, Any] = {name: jets[name] for name in jets.fields if name != "constituents"}
    fields.update({name: np.ascontiguousarray(table[name]) for name in SUBSTRUCTURE_FIELDS})
    fields["constituents"] = c[:, :keep]
    slim = ak.zip(fields, depth_limit=1)

    subset = {
        "source": str(source),
        "max_constituents": keep,
        "substructure": list(SUBSTRUCTURE_FIELDS),
        "source_n_jets": len(sample),
    }
    manifest = {
        **sample.meta,
        "n_jets": total,
        "chunk_jets": chunk_jets,
        "n_chunks": -(-total // chunk_jets),
        "subset": subset,
    }
    for index in range(manifest["n_chunks"]):
        rows = slice(index * chunk_jets, (index + 1) * chunk_jets)
        write_chunk(slim[rows], chunk_path(output, index), {**manifest, "chunk": index})
    write_manifest(output, manifest)  # last: a folder without it is an unfinished subset that read_jets refuses
    return output


def describe(folder: str | os.PathLike[str]) -> str:
    """One line saying what the dataset in ``folder`` is (used by the command line)."""
    sample = read_jets(folder)
    subset = sample.meta.get("subset")
    what = "" if subset is None else f", {subset['max_constituents']} hardest constituents, substructure added"
    return f"{folder}: {len(sample)} {sample.meta['jet_class']} jets ({sample.preset.name} preset{what}; {MANIFEST})"
