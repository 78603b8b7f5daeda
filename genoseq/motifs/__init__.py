"""Motifs: JASPAR/MEME reading, PWM scanning, CNN motif detectors, logos.

::

    from genoseq.motifs import read_motifs, scan_motifs
    jaspar = read_motifs("JASPAR2024_CORE_vertebrates_non-redundant_pfms_jaspar.txt")
    hits = scan_motifs("peaks.fa", jaspar, names="CTCF")     # pandas DataFrame
    model, card = load_motif_model("ctcf")                   # shipped CTCF detector
    probabilities = score_sequences(model, ["ACGT...", ...])

Names are imported lazily, so that ``genoseq.motifs.cli`` loads no plotting
or model code until a command runs.
"""

from genoseq._lazy import lazy_exports

_EXPORTS = {
    "best_matches": "genoseq.motifs.compare",
    "filter_logo": "genoseq.motifs.logo",
    "motif_logo": "genoseq.motifs.logo",
    "save_logos": "genoseq.motifs.logo",
    "LabelledSequences": "genoseq.motifs.model",
    "load_motif_model": "genoseq.motifs.model",
    "motif_filters": "genoseq.motifs.model",
    "read_labelled": "genoseq.motifs.model",
    "save_motif_model": "genoseq.motifs.model",
    "score_sequences": "genoseq.motifs.model",
    "train_motif_cnn": "genoseq.motifs.model",
    "Motif": "genoseq.motifs.pwm",
    "read_motifs": "genoseq.motifs.pwm",
    "select_motifs": "genoseq.motifs.pwm",
    "max_motif_scores": "genoseq.motifs.scan",
    "scan_motifs": "genoseq.motifs.scan",
    "write_hits": "genoseq.motifs.scan",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
