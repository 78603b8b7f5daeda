"""Protein secondary structure from single sequences: Q3 and Q8 with a BiLSTM tagger.

``data`` reads the labelled tables and makes length-bucketed batches,
``model`` puts Q8 and Q3 heads on :class:`genoseq.nn.tagger.BiLSTMTagger`,
``train`` fits it (``genoseq train ss``), ``predict`` runs it
(:func:`~genoseq.structure.predict.predict_secondary_structure`, ``genoseq ss``).
"""
