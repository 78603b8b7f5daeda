"""Prokaryotic gene finding: candidate ORFs, the coding model and the decoder."""

#: Genomes of ../shared/data/genomes kept out of training by default: mid GC
#: (E. coli), high-GC archaeon (H. salinarum), low-GC table 4 (M. genitalium).
DEFAULT_HOLDOUT = ("ecoli_k12_mg1655", "hsal_r1", "mgen_g37")
