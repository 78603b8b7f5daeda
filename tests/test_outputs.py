"""Outputs are never destroyed or half-written; every failure is one line naming the user's path.

Real FIFOs, symlinks, device nodes and files in a temporary folder; each test
asserts the exit status, the message and exactly what is left on disk.
"""

import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading

import pytest
from conftest import TEST_DATA

from genoseq.cli import main
from genoseq.io.atomic import OutputSet, atomic_write
from genoseq.io.errors import InvalidFileError

SMALL = TEST_DATA / "good" / "small.fa"
PAIRS = TEST_DATA / "enhancer" / "crispri_K562_6chroms.GRCh38.tsv.gz"
PROTEINS = ">p1\nMKTAYIAKQRQISFVKSHFSRQ\n>p2\nMSTNPKPQRKTKRNTNRRPQDVKFPGG\n"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str, path) -> None:
    assert err.count("\n") == 1, err
    assert err.startswith(f"genoseq: error: {path}"), err
    assert ".tmp" not in err and "Traceback" not in err


def predict(model, *argv):
    return run("predict", "-q", "--model", model, "-p", "meta", *argv)


# --- special files: written through, never replaced ---------------------------------------


def test_fifo_output_is_written_through(tmp_path, tiny_gene_model):
    fifo = tmp_path / "genes.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, err = predict(tiny_gene_model, "-i", SMALL, "-o", fifo)
    reader.join(timeout=60)
    assert code == 0, err
    assert received and received[0].startswith(b"##gff-version 3")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genes.fifo"]


def test_symlink_output_replaces_its_target_and_keeps_the_link(tmp_path, tiny_gene_model):
    target = tmp_path / "real.gff"
    target.write_text("old\n")
    link = tmp_path / "link.gff"
    link.symlink_to(target)
    code, _, err = predict(tiny_gene_model, "-i", SMALL, "-o", link)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("##gff-version 3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.gff", "real.gff"]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_device_node_output_is_written_through(tmp_path, tiny_gene_model):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a copy of /dev/null
    code, _, err = predict(tiny_gene_model, "-i", SMALL, "-o", null, "-a", null.parent / "p.faa")
    assert code == 0, err
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null", "p.faa"]


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("genoseq") is None,
                    reason="needs bash and the installed genoseq command")
def test_dev_stdout_and_process_substitution(tmp_path, tiny_gene_model):
    command = (f"genoseq predict -q -p meta --model {tiny_gene_model} -i {SMALL} -o /dev/stdout"
               f" -a >(wc -c > {tmp_path / 'count'}); wait")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("##gff-version 3")
    for _ in range(100):  # the substituted process may finish after the shell
        if (tmp_path / "count").exists() and (tmp_path / "count").read_text().strip():
            break
        threading.Event().wait(0.05)
    assert int((tmp_path / "count").read_text()) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["count"]


# --- inputs and outputs that collide ------------------------------------------------------


def test_output_equal_to_input_is_refused(tmp_path, tiny_gene_model):
    genome = tmp_path / "x.fa"
    shutil.copy(SMALL, genome)
    before = genome.read_bytes()
    code, _, err = predict(tiny_gene_model, "-i", genome, "-o", genome)
    assert code == 2
    one_error_line(err, genome)
    assert "input" in err
    assert genome.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.fa"]
    # Also through another name of the same file.
    alias = tmp_path / "alias.fa"
    alias.symlink_to(genome)
    code, _, err = predict(tiny_gene_model, "-i", genome, "-a", alias)
    assert code == 2 and genome.read_bytes() == before


def test_ss_output_equal_to_input_is_refused(tmp_path):
    faa = tmp_path / "p.faa"
    faa.write_text(PROTEINS)
    code, _, err = run("ss", "-q", "-i", faa, "-o", faa)
    assert code == 2
    one_error_line(err, faa)
    assert faa.read_text() == PROTEINS


def test_enhancer_output_equal_to_input_is_refused(tmp_path):
    pairs = tmp_path / "pairs.tsv.gz"
    shutil.copy(PAIRS, pairs)
    code, _, err = run("enhancer", "-i", pairs, "-o", pairs)
    assert code == 2
    one_error_line(err, pairs)
    assert pairs.read_bytes() == PAIRS.read_bytes()


def test_enhancer_unwritable_plot_leaves_no_table(tmp_path):
    table, plot = tmp_path / "scores.tsv", tmp_path / "no" / "locus.png"
    code, _, err = run("enhancer", "-i", PAIRS, "-o", table, "--plot-locus", "X",
                       "--plot-file", plot)
    assert code == 2
    one_error_line(err, plot)
    assert list(tmp_path.iterdir()) == []


def test_two_outputs_to_one_file_are_refused(tmp_path, tiny_gene_model):
    out = tmp_path / "x"
    code, _, err = predict(tiny_gene_model, "-i", SMALL, "-o", out, "-a", out)
    assert code == 2
    one_error_line(err, out)
    assert "two outputs" in err
    assert list(tmp_path.iterdir()) == []


# --- outputs checked before reading, committed together --------------------------------------


@pytest.mark.parametrize("flag", ["-a", "-d", "-s", "--coding-track"])
def test_unwritable_output_fails_before_reading_and_leaves_nothing(tmp_path, tiny_gene_model,
                                                                    flag):
    bad = tmp_path / "missing-folder" / "out"
    # The input is malformed: the output error must come first, before the input is read.
    code, _, err = predict(tiny_gene_model, "-i", TEST_DATA / "bad" / "garbage.txt",
                           "-o", tmp_path / "genes.gff", flag, bad)
    assert code == 2
    one_error_line(err, bad)
    assert "does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_ss_unwritable_probs_leaves_no_table(tmp_path):
    faa = tmp_path / "p.faa"
    faa.write_text(PROTEINS)
    bad = tmp_path / "nope" / "probs.tsv"
    code, _, err = run("ss", "-q", "-i", faa, "-o", tmp_path / "ss.tsv", "--probs", bad)
    assert code == 2
    one_error_line(err, bad)
    assert [p.name for p in tmp_path.iterdir()] == ["p.faa"]


def test_failure_while_writing_leaves_no_output_and_no_temporary_file(tmp_path, tiny_gene_model,
                                                                     monkeypatch):
    import genoseq.genes.predict as predict_module

    def broken(path, genes, sequences=None):
        path.write("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(predict_module, "write_gene_sequences", broken)
    gff, ffn = tmp_path / "genes.gff", tmp_path / "genes.ffn"
    gff.write_text("previous\n")
    code, _, err = predict(tiny_gene_model, "-i", SMALL, "-o", gff, "-d", ffn)
    assert code == 2
    one_error_line(err, ffn)
    assert "No space left" in err
    assert gff.read_text() == "previous\n"  # the GFF written before is not committed either
    assert [p.name for p in tmp_path.iterdir()] == ["genes.gff"]


def test_sigterm_while_writing_leaves_nothing(tmp_path, tiny_gene_model, monkeypatch):
    import genoseq.genes.predict as predict_module

    real = predict_module.write_proteins

    def interrupted(path, genes, sequences=None):
        real(path, genes, sequences)
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Event().wait(1)  # the handler raises before this returns

    monkeypatch.setattr(predict_module, "write_proteins", interrupted)
    code, _, err = predict(tiny_gene_model, "-i", SMALL, "-o", tmp_path / "g.gff",
                           "-a", tmp_path / "g.faa", "-d", tmp_path / "g.ffn")
    assert code == 143
    assert err == "genoseq: terminated\n"
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(
        signal.getsignal(signal.SIGTERM))


def test_replacing_an_output_keeps_its_mode(tmp_path):
    out = tmp_path / "kept.txt"
    out.write_text("old\n")
    out.chmod(0o640)
    with atomic_write(out) as handle:
        handle.write("new\n")
    assert out.read_text() == "new\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_output_set_rejects_folders_and_unwritable_folders(tmp_path):
    with pytest.raises(InvalidFileError, match="is a folder"):
        OutputSet({"-o": tmp_path})
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(InvalidFileError, match="cannot write"):
            OutputSet({"-o": locked / "x"})
    finally:
        locked.chmod(0o700)


# --- devices and models given on the command line -------------------------------------------


@pytest.mark.parametrize("command", [["predict", "-i", SMALL], ["ss", "-i", "-"],
                                     ["motifs", "predict", "-i", SMALL],
                                     ["enhancer", "-i", PAIRS]])
@pytest.mark.parametrize("device", ["foo", "cuda:99"])
def test_bad_device_is_one_line(command, device, tmp_path):
    code, _, err = run(*command, "--device", device, "-o", tmp_path / "out")
    assert code == 2
    one_error_line(err, "--device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="needs a POSIX file system")
@pytest.mark.parametrize("command", [["predict", "-i", SMALL], ["ss"],
                                     ["motifs", "predict", "-i", SMALL],
                                     ["enhancer", "-i", PAIRS]])
@pytest.mark.parametrize("damage", ["garbage weights", "truncated weights", "foreign json"])
def test_unusable_model_file_is_one_line(command, damage, tmp_path):
    if command == ["ss"]:
        (tmp_path / "p.faa").write_text(PROTEINS)
        command = ["ss", "-i", tmp_path / "p.faa"]
    stem = tmp_path / "model"
    if damage == "garbage weights":
        (tmp_path / "model.pt").write_bytes(b"\x80\x04not a torch file")
        (tmp_path / "model.json").write_text('{"config": {}, "metadata": {}}')
    elif damage == "truncated weights":
        (tmp_path / "model.pt").write_bytes(b"junk")
        (tmp_path / "model.json").write_text('{"config": {}}')
    else:
        import torch

        torch.save({"weight": torch.zeros(3)}, tmp_path / "model.pt")
        (tmp_path / "model.json").write_text('{"config": {"something": 1}}')
    flag = "-m" if command[0] == "motifs" else "--model"
    code, _, err = run(*command, flag, stem, "-o", tmp_path / "out")
    assert code == 2
    one_error_line(err, stem)
    assert "not a" in err
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_ss_ids_with_quotes_are_written_as_they_are(tmp_path):
    faa = tmp_path / "p.faa"
    faa.write_text('>p"1\nMKTAYIAKQRQISFVKSHFSRQ\n>p\'2\nMSTNPKPQRKTKRNTNRRPQDVKFPGG\n')
    code, _, err = run("ss", "-q", "-i", faa, "-o", tmp_path / "ss.tsv")
    assert code == 0, err
    ids = [line.split("\t")[0] for line in (tmp_path / "ss.tsv").read_text().splitlines()]
    assert ids == ["id", 'p"1', "p'2"]


def test_replacing_an_output_keeps_its_owner(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    out = tmp_path / "owned.txt"
    out.write_text("old\n")
    os.chown(out, 12345, 12345)
    with atomic_write(out) as handle:
        handle.write("new\n")
    assert (out.stat().st_uid, out.stat().st_gid) == (12345, 12345)
