"""genoseq: sequence analysis with recurrent and convolutional neural networks.

The public API, imported lazily so that ``import genoseq`` stays fast and
torch is loaded only when a model is used::

    import genoseq
    for record in genoseq.read_fasta("genome.fna.gz"):
        genes = genoseq.GeneFinder().find_genes(record.seq, record.id)
    table = genoseq.predict_genes("genome.fna.gz")      # pandas DataFrame
"""

from genoseq._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "read_fasta": "genoseq.io",
    "read_fastq": "genoseq.io",
    "read_sequences": "genoseq.io",
    "read_cds": "genoseq.io",
    "coding_labels": "genoseq.genes.labels",
    "InvalidFileError": "genoseq.io",
    "GeneFinder": "genoseq.genes.finder",
    "predict_secondary_structure": "genoseq.structure.predict",
    "predict_genes": "genoseq.genes.predict",
    "MotifCNN": "genoseq.nn.motif_cnn",
    "scan_motifs": "genoseq.motifs.scan",
    "max_motif_scores": "genoseq.motifs.scan",
    "read_motifs": "genoseq.motifs.pwm",
    "load_motif_model": "genoseq.motifs.model",
    "best_matches": "genoseq.motifs.compare",
    "BiLSTMTagger": "genoseq.nn.tagger",
    "LeakyIntegrator": "genoseq.nn.leaky",
    "SweetSpotReadout": "genoseq.nn.leaky",
    "score_enhancer_pairs": "genoseq.enhancers.predict",
    "plot_locus": "genoseq.enhancers.plot",
    "file_stats": "genoseq.info",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
