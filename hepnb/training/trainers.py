"""The one ``lightning.Trainer`` set-up every hepnb training uses; hardware and strategy stay with the caller.

Every training in hepnb (the resuming :func:`hepnb.training.fit`, the off-shell strategy networks, the LFI
estimators, the decorrelation methods, the GANs) builds its Trainer here, so that they share one set of defaults:
deterministic algorithms, no logger, no Lightning checkpointing (the :class:`~hepnb.training.EpochArchive` does
that), no model summary, no sanity validation, and a plain tqdm progress bar. The defaults run on the CPU, where
the notebooks' margins were measured; ``accelerator``, ``devices`` and ``strategy`` are the caller's: pass
``accelerator="gpu", devices=4, strategy="ddp"`` to any training that takes ``**trainer_options``.
"""

from __future__ import annotations

from typing import Any

import lightning as L

__all__ = ["DEFAULTS", "trainer"]

DEFAULTS: dict[str, Any] = {
    "deterministic": True,
    "logger": False,
    "enable_checkpointing": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
    "accelerator": "cpu",
    "devices": "auto",
}


def trainer(*, max_epochs: int, progress: bool = False, **options: Any) -> L.Trainer:
    """A ``lightning.Trainer`` with hepnb's defaults, any of which ``options`` overrides.

    Parameters
    ----------
    max_epochs
        Total number of epochs.
    progress
        Show a tqdm progress bar (Lightning's own ``TQDMProgressBar``; passed explicitly because Lightning picks its
        Rich bar when ``rich`` is installed, and in Jupyter that bar captures the cell's later output).
    options
        Anything ``lightning.Trainer`` takes: ``accelerator``, ``devices``, ``strategy`` (``"ddp"``), ``callbacks``
        (appended after the progress bar), ``precision``, ...

    Examples
    --------
    >>> from hepnb.training import trainer
    >>> t = trainer(max_epochs=3)
    >>> t.max_epochs, type(t.accelerator).__name__
    (3, 'CPUAccelerator')
    >>> t.logger is None, t.progress_bar_callback is None
    (True, True)
    """
    from lightning.pytorch.callbacks import TQDMProgressBar

    settings = {**DEFAULTS, **options}
    settings["callbacks"] = [*([TQDMProgressBar()] if progress else []), *settings.get("callbacks", [])]
    settings["enable_progress_bar"] = bool(progress)
    return L.Trainer(max_epochs=int(max_epochs), **settings)
