import itertools

import numpy as np
import pytest
from Bio.Data import CodonTable
from Bio.Seq import translate as biopython_translate

from genoseq.encoding import (
    AMINO_ACIDS,
    CODONS,
    DNA_ONE_HOT,
    DNA_UNKNOWN,
    PROTEIN_STOP,
    PROTEIN_UNKNOWN,
    codon_index,
    codon_lookup,
    codon_phase,
    codon_phase_channels,
    dna_to_index,
    genetic_code_ids,
    one_hot_dna,
    one_hot_protein,
    protein_to_index,
    reverse_complement,
    reverse_complement_index,
    translate,
)

A, C, G, T, Z = [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]


def random_dna(rng, length, alphabet=b"ACGT"):
    return rng.choice(np.frombuffer(alphabet, dtype=np.uint8), length).tobytes()


# --- DNA one-hot and indices ---------------------------------------------


def test_one_hot_by_hand():
    got = one_hot_dna(b"ACGTacgtUuNnRYKM-.x")
    expected = [A, C, G, T, A, C, G, T, T, T] + [Z] * 9
    assert got.dtype == np.float32 and got.shape == (19, 4)
    np.testing.assert_array_equal(got, expected)


def test_one_hot_accepts_str_bytearray_and_uint8_array():
    expected = one_hot_dna(b"ACGTN")
    for seq in ("ACGTN", bytearray(b"ACGTN"), np.frombuffer(b"ACGTN", dtype=np.uint8)):
        np.testing.assert_array_equal(one_hot_dna(seq), expected)


def test_one_hot_rejects_non_byte_arrays():
    with pytest.raises(TypeError, match="uint8"):
        one_hot_dna(np.zeros(4, dtype=np.int64))


def test_one_hot_uniform_ambiguity():
    got = one_hot_dna(b"NnRYSWKMBDHVA-", ambiguity="uniform")
    q, h, t = 0.25, 0.5, 1 / 3
    expected = [
        [q, q, q, q],
        [q, q, q, q],
        [h, 0, h, 0],  # R = A/G
        [0, h, 0, h],  # Y = C/T
        [0, h, h, 0],  # S = C/G
        [h, 0, 0, h],  # W = A/T
        [0, 0, h, h],  # K = G/T
        [h, h, 0, 0],  # M = A/C
        [0, t, t, t],  # B = not A
        [t, 0, t, t],  # D = not C
        [t, t, 0, t],  # H = not G
        [t, t, t, 0],  # V = not T
        A,
        Z,
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(got[:-1].sum(axis=1), 1.0, rtol=1e-6)


def test_one_hot_unknown_ambiguity_mode():
    with pytest.raises(ValueError, match="'zero' or 'uniform'"):
        one_hot_dna(b"ACGT", ambiguity="spread")


def test_lookup_tables_are_read_only():
    with pytest.raises(ValueError):
        DNA_ONE_HOT[ord("A"), 0] = 0.5
    assert one_hot_dna(b"A").flags.writeable


def test_dna_to_index():
    got = dna_to_index(b"ACGTacgtUuNR*")
    assert got.dtype == np.uint8
    assert got.tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 3, 3, DNA_UNKNOWN, DNA_UNKNOWN, DNA_UNKNOWN]


def test_index_agrees_with_one_hot():
    all_bytes = bytes(range(256))
    index = dna_to_index(all_bytes)
    one_hot = one_hot_dna(all_bytes)
    known = index < DNA_UNKNOWN
    np.testing.assert_array_equal(one_hot[known].argmax(axis=1), index[known])
    assert not one_hot[~known].any()


# --- reverse complement ----------------------------------------------------


def test_reverse_complement_by_hand():
    assert reverse_complement(b"AACGTN") == b"NACGTT"
    assert reverse_complement(b"acgu") == b"acgt"
    assert reverse_complement(b"RYKMBDHVSW") == b"WSBDHVKMRY"
    assert reverse_complement(b"ryk-.") == b".-mry"
    assert reverse_complement("ATGC") == "GCAT"
    rc = reverse_complement(np.frombuffer(b"AAGc", dtype=np.uint8))
    assert isinstance(rc, np.ndarray) and rc.tobytes() == b"gCTT"


def test_reverse_complement_is_an_involution():
    iupac = b"ACGTRYSWKMBDHVNacgtryswkmbdhvn-."
    seq = random_dna(np.random.default_rng(1), 1000, iupac)
    assert reverse_complement(reverse_complement(seq)) == seq
    assert reverse_complement(seq) != seq


def test_reverse_complement_index_matches_bytes():
    seq = random_dna(np.random.default_rng(2), 500, b"ACGTNRacgt")
    np.testing.assert_array_equal(
        reverse_complement_index(dna_to_index(seq)), dna_to_index(reverse_complement(seq))
    )


def test_reverse_complement_of_one_hot_is_a_flip():
    seq = random_dna(np.random.default_rng(3), 200)
    np.testing.assert_array_equal(
        one_hot_dna(seq)[::-1, ::-1], one_hot_dna(reverse_complement(seq))
    )


# --- codon phase -------------------------------------------------------------


def test_codon_phase():
    assert codon_phase(7).tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert codon_phase(4, offset=5).tolist() == [2, 0, 1, 2]
    assert codon_phase(0).shape == (0,)
    assert codon_phase(3).dtype == np.int64


def test_windows_see_absolute_phase():
    whole = codon_phase(100)
    np.testing.assert_array_equal(codon_phase(20, offset=37), whole[37:57])


def test_codon_phase_channels():
    got = codon_phase_channels(4, offset=1)
    assert got.dtype == np.float32 and got.shape == (4, 3)
    np.testing.assert_array_equal(got, [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])


# --- protein -------------------------------------------------------------------


def test_protein_to_index():
    got = protein_to_index(AMINO_ACIDS + AMINO_ACIDS.lower() + "XBZJUO*-")
    assert got.dtype == np.uint8
    expected = list(range(20)) * 2 + [PROTEIN_UNKNOWN] * 6 + [PROTEIN_STOP, PROTEIN_UNKNOWN]
    assert got.tolist() == expected


def test_one_hot_protein():
    got = one_hot_protein(b"ACyX*")
    assert got.dtype == np.float32 and got.shape == (5, 20)
    expected = np.zeros((5, 20), dtype=np.float32)
    expected[0, 0] = expected[1, 1] = expected[2, AMINO_ACIDS.index("Y")] = 1
    np.testing.assert_array_equal(got, expected)


# --- codons and genetic codes -------------------------------------------------


def test_codon_order():
    assert len(CODONS) == 64 and CODONS[0] == "AAA" and CODONS[1] == "AAC" and CODONS[-1] == "TTT"
    assert codon_index(dna_to_index(b"".join(c.encode() for c in CODONS)))[::3].tolist() == list(
        range(64)
    )


def brute_force_codon_index(seq: bytes) -> list[int]:
    result = []
    for i in range(len(seq)):
        codon = seq[i : i + 3].decode().upper().replace("U", "T")
        result.append(CODONS.index(codon) if codon in CODONS else -1)
    return result


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 50, 1001])
def test_codon_index_matches_brute_force(length):
    seq = random_dna(np.random.default_rng(length), length, b"ACGTacgtNRU")
    got = codon_index(dna_to_index(seq))
    assert got.dtype == np.int8 and got.shape == (length,)
    assert got.tolist() == brute_force_codon_index(seq)


def test_genetic_code_ids_are_biopythons():
    assert genetic_code_ids() == sorted(CodonTable.unambiguous_dna_by_id)
    assert {1, 4, 11, 25} <= set(genetic_code_ids())


@pytest.mark.parametrize("table", [0, 7, 8, 999, "11", 11.0, None])
def test_unknown_table_lists_valid_ids(table):
    with pytest.raises(ValueError, match=r"expected one of 1, 2, 3, 4, .*11"):
        codon_lookup(table)
    with pytest.raises(ValueError, match="unknown translation table"):
        translate("ATG", table)


def test_genetic_code_table_11():
    code = codon_lookup(11)
    assert code.translation_table == 11 and "Bacterial" in code.name
    assert code.stop_mask.shape == code.start_mask.shape == code.aa.shape == (65,)
    assert {CODONS[i] for i in np.flatnonzero(code.stop_mask)} == {"TAA", "TAG", "TGA"}
    assert {CODONS[i] for i in np.flatnonzero(code.start_mask)} == {
        "ATG", "GTG", "TTG", "CTG", "ATT", "ATC", "ATA"
    }  # fmt: skip
    assert chr(code.aa[CODONS.index("TGA")]) == "*" and chr(code.aa[-1]) == "X"
    assert not code.stop_mask[-1] and not code.start_mask[-1]
    assert codon_lookup(4).aa[CODONS.index("TGA")] == ord("W")
    assert codon_lookup(11) is codon_lookup(11)
    with pytest.raises(ValueError):
        code.stop_mask[0] = True


@pytest.mark.filterwarnings("ignore::Bio.BiopythonWarning")
@pytest.mark.parametrize("table", genetic_code_ids())
def test_translation_equals_biopython(table):
    ncbi = CodonTable.unambiguous_dna_by_id[table]
    rng = np.random.default_rng(table)
    codons = list(CODONS) * 3
    rng.shuffle(codons)
    seq = "".join(codons)
    expected = biopython_translate(seq, table=table)
    assert translate(seq, table) == expected
    assert translate(seq.encode().lower(), table) == expected
    assert codon_lookup(table).translate(seq) == expected
    assert codon_lookup(table).translate(seq.encode() + b"AC") == expected
    if any(codon in ncbi.forward_table for codon in ncbi.stop_codons):
        # Tables 27, 28, 31: stop codons that also code; Biopython refuses to_stop.
        with pytest.raises(ValueError, match="both STOP and an amino acid"):
            translate(seq, table, to_stop=True)
    else:
        expected = biopython_translate(seq, table=table, to_stop=True)
        assert translate(seq, table, to_stop=True) == expected


@pytest.mark.filterwarnings("ignore::Bio.BiopythonWarning")
@pytest.mark.parametrize("table", genetic_code_ids())
def test_alternative_start_reads_as_methionine(table):
    ncbi = CodonTable.unambiguous_dna_by_id[table]
    code = codon_lookup(table)
    stop = ncbi.stop_codons[0]
    # "*", or in tables 27, 28 and 31 the amino acid the stop codon also codes for
    stop_symbol = ncbi.forward_table.get(stop, "*")
    for start in ncbi.start_codons:
        cds = start + "GCC" + stop
        assert translate(cds, table, cds=True) == "MA"
        assert code.translate(cds, cds=True) == "MA" + stop_symbol
        assert code.translate(cds)[0] == ncbi.forward_table[start]
    non_start = next(c for c in CODONS if c not in ncbi.start_codons and c not in ncbi.stop_codons)
    assert code.translate(non_start + "GCC", cds=True)[0] == ncbi.forward_table[non_start]


def test_cds_translation_errors_are_value_errors():
    with pytest.raises(ValueError, match="not a start codon"):
        translate("AAAGCCTAA", 11, cds=True)
    with pytest.raises(ValueError, match="stop codon"):
        translate("ATGTAAGCCTAA", 11, cds=True)


def test_fast_translation_of_unknown_codons():
    code = codon_lookup(11)
    assert code.translate("ATGNNNGCNTAR") == "MXXX"
    assert code.translate("") == ""
    assert code.translate(np.frombuffer(b"atgtga", dtype=np.uint8)) == "M*"


def test_every_table_codon_is_stop_or_coded():
    # A codon that NCBI neither codes nor stops would make `aa` report a
    # false stop; this guards the lookup against new Biopython tables.
    for table in genetic_code_ids():
        ncbi = CodonTable.unambiguous_dna_by_id[table]
        for codon in map("".join, itertools.product("ACGT", repeat=3)):
            assert codon in ncbi.forward_table or codon in ncbi.stop_codons
