"""Leaky-integrator enhancer–gene model, scored on CRISPRi screens.

A locus (every element of the table near one gene's TSS, in genomic order) is
walked by a leaky integrator: each element kicks the state, the state decays
with genomic distance, and the promoter reads the log of the state reaching
it. An element's score is the change in the promoter's response when its kick
is removed, which is what a CRISPRi screen measures::

    from genoseq.enhancers import read_pairs, score_enhancer_pairs, plot_locus
    table = read_pairs("pairs.tsv.gz")
    scored = score_enhancer_pairs(table)        # + genoseq_score, shipped model
    plot_locus(table, "RPL3").savefig("rpl3.png")

Imported lazily, so that the command line starts without torch or matplotlib.
"""

from genoseq._lazy import lazy_exports

_EXPORTS = {
    "read_pairs": "genoseq.enhancers.table",
    "LABEL_COLUMNS": "genoseq.enhancers.table",
    "build_loci": "genoseq.enhancers.loci",
    "EnhancerModel": "genoseq.enhancers.model",
    "EnhancerModelConfig": "genoseq.enhancers.model",
    "load_enhancer_model": "genoseq.enhancers.model",
    "save_enhancer_model": "genoseq.enhancers.model",
    "element_effects": "genoseq.enhancers.predict",
    "element_effects_and_scores": "genoseq.enhancers.predict",
    "element_scores": "genoseq.enhancers.predict",
    "score_enhancer_pairs": "genoseq.enhancers.predict",
    "EnhancerTrainConfig": "genoseq.enhancers.train",
    "train_enhancer_model": "genoseq.enhancers.train",
    "plot_locus": "genoseq.enhancers.plot",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
