"""Shine-Dalgarno scan for Prodigal's rbs_motif / rbs_spacer attributes."""

from genoseq.genes.rbs import find_rbs


def test_full_consensus_with_usual_spacer():
    assert find_rbs("TTTTAGGAGGTTTTTTTT") == ("AGGAGG", "5-10bp")


def test_spacer_bins():
    assert find_rbs("GGAGTTTTTTTTTTTTTT") == ("GGAG", "13-15bp")
    assert find_rbs("AAGGAGTTT") == ("AGGAG", "3-4bp")
    assert find_rbs("GAGAAAAAAAAAAA") == ("GAG", "11-12bp")


def test_motif_too_close_to_the_start_only_counts_in_part():
    # The whole AGGAGG touches the start codon (spacer 0); only its first AGG is 3 bp away.
    assert find_rbs("AGGAGG") == ("AGG", "3-4bp")


def test_nothing_found():
    assert find_rbs("TTTTTTTTTTTTTTTTTTTT") == ("None", "None")
    assert find_rbs("GGATTTTTTTTTTTTTTTTTTT") == ("None", "None")  # 19 bp away: too far
