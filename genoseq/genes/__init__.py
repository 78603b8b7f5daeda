"""Prokaryotic gene finding: candidate ORFs, the networks, the gene score and the decoder.

Kept free of torch: the command line reads these constants while building its parser.
"""

#: Genomes of the development genome set kept out of training by default: mid GC
#: (E. coli), high-GC archaeon (H. salinarum), low-GC table 4 (M. genitalium).
DEFAULT_HOLDOUT = ("ecoli_k12_mg1655", "hsal_r1", "mgen_g37")
#: Learning rate of the coding model in ``genoseq train genes``.
CODING_LEARNING_RATE = 3e-3
