"""Self-training on the genome at hand: hexamer and start statistics from a first pass.

Prodigal's accuracy comes largely from learning each genome's own codon and
dicodon usage from its own long ORFs. genoseq does the same on top of its
pretrained coding model: the genes of a first pass with a confident score
give in-frame hexamer frequencies; all hexamers of the genome (both strands,
every offset) give the background; the log-ratio of the two, summed over a
candidate's codons, is a second, genome-specific coding score the decoder
adds. The starts of the same genes against the rival starts of their ORFs
give a start profile, a genome-specific start score. The first pass uses
the pretrained model only, so no reference annotation is involved.

Learning and applying are separate: :func:`learn_training` turns a first
pass into a :class:`SelfTraining` (the two statistics and what they were
learned from), :func:`apply_training` scores candidates with one, and
:func:`self_train` does both. A :class:`SelfTraining` is saved and read back
as a training file (:mod:`genoseq.io.training`, ``genoseq predict -t``), so
that one genome's statistics can serve its plasmids and drafts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from genoseq import __version__
from genoseq.encoding import reverse_complement_index
from genoseq.genes.orfs import OrfCandidates
from genoseq.genes.rbs import RBS_CLASSES, rbs_classes
from genoseq.genes.scoring import ScoredCandidates, orf_maxima
from genoseq.genes.starts import START_UPSTREAM, START_WINDOW, gene_start_positions, start_windows
from genoseq.io.errors import InvalidFileError
from genoseq.io.training import read_training_file, write_training_file

N_HEXAMERS = 4 ** 6
_WEIGHTS = 4 ** np.arange(5, -1, -1, dtype=np.int64)


def hexamer_codes(index: np.ndarray) -> np.ndarray:
    """Hexamer starting at every position, 0 … 4095; -1 where it has a non-ACGT base or runs off.

    Parameters
    ----------
    index : np.ndarray, shape (length,), uint8
        Bases A=0, C=1, G=2, T=3, other=4.

    Returns
    -------
    np.ndarray, shape (length,), int16
        Two bytes per base: a whole genome's codes are the largest array of
        self-training.
    """
    length = len(index)
    codes = np.full(length, -1, dtype=np.int16)
    if length < 6:
        return codes
    n = length - 5
    bases = np.asarray(index)
    # Two bits per base, shifted in one base at a time, in place (12 bits fit int16).
    code = codes[:n]
    code[:] = 0
    for k in range(6):
        code <<= 2
        code |= bases[k:k + n] & 3
    # A hexamer holding an unknown base starts at most five bases before it.
    unknown = np.flatnonzero(bases >= 4)
    for k in range(6):
        hit = unknown - k
        code[hit[(hit >= 0) & (hit < n)]] = -1
    return codes


def _in_frame_counts(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Counts of hexamers at codon boundaries of genes [start, end) read forward."""
    counts = np.zeros(N_HEXAMERS, dtype=np.float64)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        picked = codes[start:end - 5:3]
        np.add.at(counts, picked[picked >= 0], 1.0)
    return counts


def hexamer_log_ratios(index: list[np.ndarray], genes: list[tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]],
                       pseudocount: float = 1.0) -> np.ndarray:
    """Genome-specific coding log-ratio of every hexamer.

    Parameters
    ----------
    index : list of np.ndarray (length,), uint8
        The genome's records as base indices.
    genes : list of (start, end, strand) arrays, one triple per record
        Genes to learn from (confident first-pass calls).
    pseudocount : float

    Returns
    -------
    np.ndarray, shape (4096,), float64
        ``log(P(hexamer | in frame in a gene) / P(hexamer | anywhere))``.
    """
    coding = np.zeros(N_HEXAMERS)
    background = np.zeros(N_HEXAMERS)
    for bases, (start, end, strand) in zip(index, genes, strict=True):
        forward = hexamer_codes(bases)
        reverse = hexamer_codes(reverse_complement_index(bases))
        length = len(bases)
        background += np.bincount(forward[forward >= 0], minlength=N_HEXAMERS)
        background += np.bincount(reverse[reverse >= 0], minlength=N_HEXAMERS)
        plus = strand > 0
        coding += _in_frame_counts(forward, start[plus], end[plus])
        coding += _in_frame_counts(reverse, length - end[~plus], length - start[~plus])
    coding = (coding + pseudocount) / (coding.sum() + pseudocount * N_HEXAMERS)
    background = (background + pseudocount) / (background.sum() + pseudocount * N_HEXAMERS)
    return np.log(coding / background)


#: Rows of three positions whose hexamer values :func:`_frame_prefix_values` holds at a time.
FRAME_PREFIX_ROWS = 1 << 18


def _frame_prefix_values(codes: np.ndarray, log_ratios: np.ndarray, frame: np.ndarray,
                         i: np.ndarray) -> np.ndarray:
    """Sum of the log-ratios of the hexamers at j < i with j ≡ frame (mod 3), per point.

    The per-frame prefix sums are built a block of ``FRAME_PREFIX_ROWS``
    rows of three positions at a time, the running sums carried into the
    first row of the next block, and read only at the points: the same
    float64 additions in the same order as one prefix array over the whole
    sequence, without it (8 bytes per base, and as much again for the
    values).
    """
    length = len(codes)
    rows = -(-length // 3)
    row = np.maximum((i - frame + 2) // 3, 0)  # prefix row: the first `row` rows summed
    order = np.argsort(row, kind="stable")
    row_sorted = row[order]
    out = np.zeros(len(i), dtype=np.float64)
    carry = None
    for first in range(0, rows, FRAME_PREFIX_ROWS):
        stop = min(first + FRAME_PREFIX_ROWS, rows)
        block = np.zeros(3 * (stop - first), dtype=np.float64)
        part = codes[3 * first:3 * stop]
        block[:len(part)] = np.where(part >= 0, log_ratios[np.maximum(part, 0)], 0.0)
        block = block.reshape(stop - first, 3)
        if carry is not None:
            block[0] += carry
        np.cumsum(block, axis=0, out=block)
        lo, hi = np.searchsorted(row_sorted, [first + 1, stop + 1])
        which = order[lo:hi]
        out[which] = block[row[which] - first - 1, frame[which]]
        carry = block[-1].copy()
    return out


def hexamer_scores(bases: np.ndarray, log_ratios: np.ndarray, start: np.ndarray,
                   end: np.ndarray, strand: np.ndarray,
                   codes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Summed in-frame hexamer log-ratio of each candidate gene of one record.

    Parameters
    ----------
    bases : np.ndarray, shape (length,), uint8
    log_ratios : np.ndarray, shape (4096,)
        From :func:`hexamer_log_ratios`.
    start, end, strand : np.ndarray, shape (n,)
        Candidate genes, forward-strand half-open coordinates.

    codes : (np.ndarray, np.ndarray), optional
        :func:`hexamer_codes` of the record and of its reverse complement,
        when the caller scores it with several statistics.

    Returns
    -------
    np.ndarray, shape (n,), float64
    """
    length = len(bases)
    scores = np.zeros(len(start), dtype=np.float64)
    for k, sign in enumerate((1, -1)):
        if codes is None:
            seq = bases if sign > 0 else reverse_complement_index(bases)
            strand_codes = hexamer_codes(seq)
            del seq
        else:
            strand_codes = codes[k]
        chosen = strand == sign
        # A − strand gene [s, e) is the + strand gene [L - e, L - s) of the reverse complement.
        gene_start = start[chosen] if sign > 0 else length - end[chosen]
        gene_end = end[chosen] if sign > 0 else length - start[chosen]
        # Hexamers at codon boundaries j = start, start + 3, ..., j <= end - 6.
        last = np.maximum(gene_end - 5, gene_start)
        frame = gene_start % 3
        n = len(gene_start)
        values = _frame_prefix_values(strand_codes, log_ratios,
                                      np.concatenate([frame, frame]),
                                      np.concatenate([last, gene_start]))
        scores[chosen] = values[:n] - values[n:]
        del strand_codes
    return scores


#: Records of at most this many bases go through :func:`hexamer_scores_many` together.
MANY_MAX_BASES = 3_000
#: Padded positions per pass of :func:`hexamer_scores_many` (records x longest).
MANY_PASS_POSITIONS = 1 << 21


def hexamer_codes_many(indices: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`hexamer_codes` of each record and of its reverse complement, in two calls.

    The records are joined with six unknown bases between neighbours, so
    that no hexamer reads across two records: every record gets exactly
    its own codes.
    """
    if not indices:
        return []
    gap = np.full(6, 4, dtype=np.uint8)
    joined = np.concatenate([part for index in indices for part in (index, gap)])
    forward = hexamer_codes(joined)
    reverse = hexamer_codes(reverse_complement_index(joined))
    total = len(joined)
    out, offset = [], 0
    for index in indices:
        length = len(index)
        # In the reverse complement the record (reversed) ends 6 bases before where its
        # forward copy began, counted from the other end.
        back = total - offset - length
        out.append((forward[offset:offset + length].copy(),
                    reverse[back:back + length].copy()))
        offset += length + len(gap)
    return out


@dataclass(frozen=True)
class HexamerPoints:
    """Where :func:`hexamer_scores` reads one record's prefix sums, on each strand.

    Per strand (+, −): ``(codes, frame, point)``, the strand's hexamer codes
    and, for every candidate on it, its end point then its start point
    (``2 n`` entries), so that a score is ``prefix[:n] − prefix[n:]``.
    """

    length: int
    strands: tuple
    chosen: tuple


def hexamer_points(length: int, start: np.ndarray, end: np.ndarray, strand: np.ndarray,
                   codes: tuple[np.ndarray, np.ndarray]) -> HexamerPoints:
    """The prefix-sum points of :func:`hexamer_scores` for one record (its codes given)."""
    strands, chosen_of = [], []
    for k, sign in enumerate((1, -1)):
        chosen = strand == sign
        gene_start = start[chosen] if sign > 0 else length - end[chosen]
        gene_end = end[chosen] if sign > 0 else length - start[chosen]
        last = np.maximum(gene_end - 5, gene_start)
        frame = gene_start % 3
        strands.append((codes[k], np.concatenate([frame, frame]),
                        np.concatenate([last, gene_start])))
        chosen_of.append(chosen)
    return HexamerPoints(length, tuple(strands), tuple(chosen_of))


class HexamerBatch:
    """:func:`hexamer_scores` of many short records (:class:`HexamerPoints`), bit for bit.

    The records' values are laid out as rows of a (records, rows of three
    positions, 3) array and summed along the rows in one ``cumsum``: every
    record gets the float64 additions, in the order, of its own prefix sums
    (one block of :func:`_frame_prefix_values`). Where each record's values go
    and where its candidates read is worked out once, here; :meth:`scores`
    then costs a few array operations per set of log-ratios, however many
    records (a metagenome's contigs, once per library entry they try).
    Records longer than ``3 * FRAME_PREFIX_ROWS`` bases are not accepted.
    """

    def __init__(self, points: list[HexamerPoints]):
        sizes = np.array([len(p.chosen[0]) for p in points], dtype=np.int64)
        #: Candidates of each record and where they begin in :meth:`scores`' result.
        self.sizes = sizes
        self.offsets = np.cumsum(sizes) - sizes
        self.passes = []
        if not points:
            return
        if -(-max(p.length for p in points) // 3) > FRAME_PREFIX_ROWS:
            raise ValueError("HexamerBatch takes records of one prefix block")
        order = sorted(range(len(points)), key=lambda r: points[r].length)
        longest_rows = max(1, -(-max(p.length for p in points) // 3))
        per_pass = max(1, MANY_PASS_POSITIONS // (3 * longest_rows))
        for first in range(0, len(order), per_pass):
            group = order[first:first + per_pass]
            rows = max(1, -(-max(points[r].length for r in group) // 3))
            strands = []
            for k in range(2):
                codes = [points[r].strands[k][0] for r in group]
                lengths = np.array([len(c) for c in codes], dtype=np.int64)
                owner = np.repeat(np.arange(len(group)), lengths)
                position = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths,
                                                              lengths)
                # Candidate k of a record reads its end point, then its start point.
                counts = np.array([len(points[r].strands[k][2]) // 2 for r in group])
                frame = np.concatenate([points[r].strands[k][1][:n]
                                        for r, n in zip(group, counts, strict=True)])
                ends = np.concatenate([points[r].strands[k][2][:n]
                                       for r, n in zip(group, counts, strict=True)])
                begins = np.concatenate([points[r].strands[k][2][n:]
                                         for r, n in zip(group, counts, strict=True)])
                reader = np.repeat(np.arange(len(group)), counts)
                target = np.concatenate([self.offsets[r] + np.flatnonzero(points[r].chosen[k])
                                         for r in group])
                reads = []
                for point in (ends, begins):
                    row = np.maximum((point - frame + 2) // 3, 0)
                    inside = row > 0
                    # Flat index of (record, row - 1, frame) in the (records, rows, 3) sums.
                    reads.append((inside, (reader[inside] * rows + row[inside] - 1) * 3
                                  + frame[inside]))
                strands.append((np.concatenate(codes), owner * (3 * rows) + position, reads,
                                target.astype(np.int64)))
            self.passes.append((len(group), rows, strands))

    def scores(self, log_ratios: np.ndarray) -> np.ndarray:
        """Hexamer scores of every record's candidates, records one after another (float64)."""
        out = np.zeros(int(self.sizes.sum()), dtype=np.float64)
        for n_group, rows, strands in self.passes:
            for codes, where, reads, target in strands:
                flat = np.zeros(n_group * 3 * rows, dtype=np.float64)
                flat[where] = np.where(codes >= 0, log_ratios[np.maximum(codes, 0)], 0.0)
                values = flat.reshape(n_group, rows, 3)
                np.cumsum(values, axis=1, out=values)
                read = []
                for inside, at in reads:
                    got = np.zeros(len(inside), dtype=np.float64)
                    got[inside] = flat[at]
                    read.append(got)
                out[target] = read[0] - read[1]
        return out

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """``values`` (one per candidate, as :meth:`scores` gives) cut per record (views)."""
        return [values[a:a + n] for a, n in zip(self.offsets.tolist(), self.sizes.tolist(),
                                                strict=True)]


def start_profile(true_windows: np.ndarray, other_windows: np.ndarray,
                  pseudocount: float = 1.0) -> np.ndarray:
    """Position-specific log-odds of the bases around chosen starts against rival starts.

    Learned per genome from a first pass: ``true_windows`` are the windows of
    the starts it chose, ``other_windows`` those of the other start codons of
    the same ORFs. The profile picks up what separates real starts in this
    genome (its ribosome-binding site and spacer, its start-codon usage, a
    leaderless archaeal start) without any annotation.

    Parameters
    ----------
    true_windows, other_windows : np.ndarray, shape (n, width), uint8
        Start windows (:func:`genoseq.genes.starts.start_windows`), bases 0-4.
    pseudocount : float

    Returns
    -------
    np.ndarray, shape (width, 5), float64
        Log-odds per position and base; column 4 (unknown base) is 0.
    """
    width = true_windows.shape[1]
    profile = np.zeros((width, 5), dtype=np.float64)
    for column in range(width):
        true_counts = np.bincount(true_windows[:, column], minlength=5)[:4] + pseudocount
        other_counts = np.bincount(other_windows[:, column], minlength=5)[:4] + pseudocount
        profile[column, :4] = (np.log(true_counts / true_counts.sum())
                               - np.log(other_counts / other_counts.sum()))
    return profile


def pooled_profile(profile: np.ndarray, pool: int) -> np.ndarray:
    """``profile`` with its log-odds averaged over blocks of ``pool`` positions.

    Outside the start codon (whose three columns keep their own): upstream,
    blocks end at the codon; downstream, they begin after it (a shorter block
    at a window's far end). With 3 the profile keeps the composition around
    starts and loses the codon phase; ``pool`` 1 returns ``profile``.
    """
    if pool <= 1:
        return profile
    out = profile.copy()
    codon_end = START_UPSTREAM + 3
    blocks = [slice(max(0, hi - pool), hi) for hi in range(START_UPSTREAM, 0, -pool)]
    blocks += [slice(lo, min(len(profile), lo + pool))
               for lo in range(codon_end, len(profile), pool)]
    for block in blocks:
        out[block, :4] = profile[block, :4].mean(axis=0)
    return out


def start_profile_part(windows: np.ndarray, profile: np.ndarray, candidates: OrfCandidates,
                       pool: int = 1) -> np.ndarray:
    """The start profile's score of each candidate (0 for 5'-partial ones).

    ``pool`` 1: the summed per-position log-odds of its start window. ``pool``
    > 1 splits the profile's two jobs. Per position, the profile learns both
    where a gene starts and whether the ORF holds a gene at all: a real
    start's upstream is not coding, its rivals' (most inside genes) is, so
    in a GC-rich genome "a G/C at a third codon position upstream" reads as
    "not a start" and pulls starts upstream into any open, coding-like
    stretch. The :func:`pooled_profile` ranks the starts of an ORF; the ORF as
    a whole keeps the per-position profile's best value, so each candidate
    scores ``pooled + (ORF's best per-position − ORF's best pooled)``. On the
    calibration genomes that moved exact starts +0.3 points at the same
    sensitivity (``genoseq/weights/genes.md``, session 17).
    """
    own = np.where(candidates.partial_5prime, 0.0, start_profile_scores(windows, profile))
    if pool <= 1:
        return own
    pooled = np.where(candidates.partial_5prime, 0.0,
                      start_profile_scores(windows, pooled_profile(profile, pool)))
    return ranked_by_pooled(own, pooled, candidates.orf_id)


def ranked_by_pooled(own: np.ndarray, pooled: np.ndarray, orf_id: np.ndarray) -> np.ndarray:
    """``pooled + (ORF's best own − ORF's best pooled)``: see :func:`start_profile_part`."""
    return pooled + orf_maxima(own, orf_id) - orf_maxima(pooled, orf_id)


def rbs_log_odds(true_windows: np.ndarray, other_windows: np.ndarray,
                 pseudocount: float = 1.0) -> np.ndarray:
    """Log-odds of each Shine-Dalgarno class around chosen starts against rival starts.

    The class of a start is the motif and spacer bin that Prodigal's RBS
    scan reports (:func:`genoseq.genes.rbs.rbs_classes`: a piece of AGGAGG
    3-15 bp upstream, or none). Unlike the position-specific
    :func:`start_profile`, a class is the same wherever in 3-15 bp the motif
    sits, so a genome whose spacers vary still learns one weight per motif;
    and a genome that does not use Shine-Dalgarno sites (leaderless archaeal
    genes) learns weights near 0. Prodigal self-trains its RBS weights the same way
    (per motif and spacer bin), from its own first-pass starts.

    Returns
    -------
    np.ndarray, shape (RBS_CLASSES,), float64
    """
    true_counts = np.bincount(rbs_classes(true_windows, START_UPSTREAM),
                              minlength=RBS_CLASSES) + pseudocount
    other_counts = np.bincount(rbs_classes(other_windows, START_UPSTREAM),
                               minlength=RBS_CLASSES) + pseudocount
    return (np.log(true_counts / true_counts.sum())
            - np.log(other_counts / other_counts.sum()))


#: Start windows scored at a time by :func:`start_profile_scores`.
PROFILE_ROWS = 1 << 14


def start_profile_scores(windows: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Summed profile log-odds of each start window; shape (n,), float64.

    ``PROFILE_ROWS`` windows at a time: the gathered log-odds are 8 bytes per
    base of every window (a genome's candidates: hundreds of MB at once), and
    each row is summed alone, so the blocks change no value.
    """
    columns = np.arange(windows.shape[1])[None, :]
    out = np.empty(len(windows), dtype=np.float64)
    for first in range(0, len(windows), PROFILE_ROWS):
        out[first:first + PROFILE_ROWS] = profile[columns,
                                                  windows[first:first + PROFILE_ROWS]].sum(axis=1)
    return out


@dataclass(eq=False)
class SelfTraining:
    """A genome's self-trained statistics and what they were learned from.

    Attributes
    ----------
    hexamer_log_ratios : np.ndarray, shape (4096,), float64
        :func:`hexamer_log_ratios` of the first pass's genes.
    start_profile : np.ndarray, shape (START_WINDOW, 5), float64
        :func:`start_profile` of their starts against the rival starts.
    translation_table : int
        NCBI table the candidates were enumerated under.
    genome_length : int
        Bases of the genome learned from (all its records).
    records : int
        Records of that genome.
    genes : int
        First-pass genes the hexamer statistics were learned from.
    starts : int
        Complete ones among them, whose starts gave the start profile.
    genoseq_version : str
        genoseq that learned them.
    model : str
        Fingerprint of the networks and decoder weights whose first pass gave
        the genes (:func:`genoseq.genes.finder.model_fingerprint`); the
        statistics are used only with that model.
    model_name : str
        How that model was named (``shipped weights``, ``weights STEM``).
    rbs_log_odds : np.ndarray, shape (RBS_CLASSES,), float64, or None
        :func:`rbs_log_odds` of the same starts against the same rivals; None
        in statistics that predate it (the metagenome library's), whose
        candidates get no RBS score.
    source : str or None
        The training file it was read from (not saved).
    """

    hexamer_log_ratios: np.ndarray
    start_profile: np.ndarray
    translation_table: int = 11
    genome_length: int = 0
    records: int = 0
    genes: int = 0
    starts: int = 0
    genoseq_version: str = __version__
    model: str = ""
    model_name: str = ""
    rbs_log_odds: np.ndarray | None = None
    source: str | None = None

    @property
    def rbs_strength(self) -> float:
        """How strongly the starts show Shine-Dalgarno sites: minus the log-odds of "no site".

        0 without RBS statistics; ``ScoredCandidates.rbs_strength`` of the
        candidates they score, which ``DecoderParams.rbs_min_strength`` gates.
        """
        return 0.0 if self.rbs_log_odds is None else -float(self.rbs_log_odds[0])

    def write(self, target) -> None:
        """Save as a training file (path, ``-`` or open text stream): :mod:`genoseq.io.training`."""
        write_training_file(target, self)


def read_training(path: str | os.PathLike) -> SelfTraining:
    """A :class:`SelfTraining` from a training file written by :meth:`SelfTraining.write`.

    Raises
    ------
    InvalidFileError
        Naming the file and the value: not a genoseq training file, another
        format version, or statistics of the wrong shape.
    """
    fields = read_training_file(path)
    width = fields["start_profile"].shape[0]
    if width != START_WINDOW:
        raise InvalidFileError(path, None, f"start_profile has {width} positions: this "
                               f"genoseq's start windows have {START_WINDOW}")
    return SelfTraining(**fields, source=os.fspath(path))


def learn_training(records: list[tuple[np.ndarray, ScoredCandidates]],
                   first_pass: list[np.ndarray], *, translation_table: int = 11,
                   model: str = "", model_name: str = "",
                   with_rbs: bool = True) -> SelfTraining:
    """Learn the genome's statistics from a first pass's genes.

    The first pass's genes (``first_pass``: the chosen candidates of each
    record) give the hexamer log-ratios (their in-frame hexamers against the
    genome's background) and the start profile (the starts of the complete
    ones against the rival starts of their ORFs).

    Parameters
    ----------
    records : list of (np.ndarray, ScoredCandidates)
        Per record of the genome: its bases (A=0, C=1, G=2, T=3, other=4)
        and scored candidates.
    first_pass : list of np.ndarray
        Per record, indices of the candidates the first pass chose.
    translation_table, model, model_name
        Recorded in the result (see :class:`SelfTraining`).
    with_rbs : bool
        Whether to learn the Shine-Dalgarno class log-odds (False: Prodigal's
        ``-n``, statistics that give no RBS score).
    """
    genes = []
    true_windows, other_windows = [], []
    for (index, scored), chosen in zip(records, first_pass, strict=True):
        c = scored.candidates
        genes.append((c.start[chosen], c.end[chosen], c.strand[chosen]))
        complete = chosen[~c.partial_5prime[chosen]]
        rivals = np.flatnonzero(np.isin(c.orf_id, c.orf_id[complete]) & ~c.partial_5prime)
        rivals = np.setdiff1d(rivals, complete)
        positions = gene_start_positions(c)
        true_windows.append(start_windows(index, positions[complete], c.strand[complete]))
        other_windows.append(start_windows(index, positions[rivals], c.strand[rivals]))
    true_windows, other_windows = np.concatenate(true_windows), np.concatenate(other_windows)
    return SelfTraining(
        hexamer_log_ratios=hexamer_log_ratios([index for index, _ in records], genes),
        start_profile=start_profile(true_windows, other_windows),
        rbs_log_odds=rbs_log_odds(true_windows, other_windows) if with_rbs else None,
        translation_table=translation_table,
        genome_length=sum(len(index) for index, _ in records), records=len(records),
        genes=sum(len(chosen) for chosen in first_pass), starts=len(true_windows),
        model=model, model_name=model_name)


def rbs_scores(scored: ScoredCandidates, windows: np.ndarray,
               log_odds: np.ndarray | None) -> np.ndarray | None:
    """Each candidate's RBS score under ``log_odds`` (0 for 5'-partial; None without log-odds).

    ``windows`` are the candidates' start windows; their Shine-Dalgarno
    classes are computed once and kept on ``scored`` (``rbs_class``), so
    every self-training round and every library entry reuses them.
    """
    if log_odds is None:
        return None
    if scored.rbs_class is None:
        scored.rbs_class = rbs_classes(windows, START_UPSTREAM)
    return np.where(scored.candidates.partial_5prime, 0.0, log_odds[scored.rbs_class])


#: Columns of a start window holding the start codon.
CODON_COLUMNS = slice(START_UPSTREAM, START_UPSTREAM + 3)


def start_codon_scores(windows: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Summed profile log-odds of each start window's three codon columns; shape (n,).

    The same values as :func:`start_profile_scores` with every other column
    of ``profile`` zeroed, reading only those three columns.
    """
    out = np.zeros(len(windows), dtype=np.float64)
    for column in range(CODON_COLUMNS.start, CODON_COLUMNS.stop):
        out += profile[column][windows[:, column]]
    return out


def apply_training(training: SelfTraining,
                   records: list[tuple[np.ndarray, ScoredCandidates]],
                   profile_pool: int = 1) -> None:
    """Score every candidate with ``training``'s statistics, in place.

    Sets ``hexamer``, ``profile`` (:func:`start_profile_part` with
    ``profile_pool``, ``DecoderParams.profile_pool``), ``profile_codon`` (the
    profile's start-codon columns alone) and ``rbs`` (the RBS class
    log-odds; None when ``training`` has none). 5'-partial candidates (no
    start codon) get profile and RBS scores of 0.
    """
    for index, scored in records:
        c = scored.candidates
        scored.hexamer = hexamer_scores(index, training.hexamer_log_ratios, c.start, c.end,
                                        c.strand)
        windows = start_windows(index, gene_start_positions(c), c.strand)
        scored.profile = start_profile_part(windows, training.start_profile, c, profile_pool)
        scored.profile_codon = np.where(c.partial_5prime, 0.0,
                                        start_codon_scores(windows, training.start_profile))
        scored.rbs = rbs_scores(scored, windows, training.rbs_log_odds)
        scored.rbs_strength = training.rbs_strength


def self_train(records: list[tuple[np.ndarray, ScoredCandidates]],
               first_pass: list[np.ndarray], profile_pool: int = 1,
               **provenance) -> SelfTraining:
    """Learn genome-specific statistics from a first pass and score every candidate with them.

    :func:`learn_training` then :func:`apply_training`: every candidate's
    ``hexamer`` and ``profile`` are set in place; the statistics are
    returned. ``records``, ``first_pass`` and ``provenance``
    (``translation_table``, ``model``, ``model_name``, ``with_rbs``) are as
    for :func:`learn_training`; ``profile_pool`` as for :func:`apply_training`.
    """
    training = learn_training(records, first_pass, **provenance)
    apply_training(training, records, profile_pool)
    return training
