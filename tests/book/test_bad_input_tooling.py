"""Issue 17 for the tooling: nothing is deleted or written outside what the user named, and
only after the inputs are checked; a command with bad arguments exits 2 and writes nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shiftlab.book import bench, publish

ROOT = Path(__file__).resolve().parents[2]


def test_student_source_with_a_wrong_root_keeps_the_existing_destination(tmp_path):
    destination = tmp_path / "mine"
    destination.mkdir()
    (destination / "notes.txt").write_text("my work", encoding="utf-8")
    with pytest.raises(ValueError, match="root"):
        publish.student_source(tmp_path / "no-such-course", destination)
    assert (destination / "notes.txt").read_text(encoding="utf-8") == "my work"
    not_a_course = tmp_path / "empty"
    not_a_course.mkdir()
    with pytest.raises(ValueError, match="root"):
        publish.student_source(not_a_course, destination)
    assert (destination / "notes.txt").read_text(encoding="utf-8") == "my work"


def test_student_source_never_deletes_a_folder_it_did_not_write(tmp_path):
    destination = tmp_path / "mine"
    destination.mkdir()
    (destination / "notes.txt").write_text("my work", encoding="utf-8")
    with pytest.raises(ValueError, match="destination"):
        publish.student_source(ROOT, destination)
    assert (destination / "notes.txt").read_text(encoding="utf-8") == "my work"


def test_student_source_replaces_its_own_earlier_output(tmp_path):
    destination = tmp_path / "student"
    publish.student_source(ROOT, destination)
    (destination / "book" / "stale.ipynb").write_text("{}", encoding="utf-8")
    publish.student_source(ROOT, destination)
    assert not (destination / "book" / "stale.ipynb").exists()
    assert (destination / "_toc.yml").is_file()


def test_first_code_cell_refuses_a_file_descriptor_and_leaves_it_open(tmp_path):
    with open(tmp_path / "f.txt", "w", encoding="utf-8") as handle:
        fd = handle.fileno()
        with pytest.raises(TypeError, match="path"):
            publish.first_code_cell(fd)
        os.fstat(fd)  # still open: raises OSError if it was closed
        handle.write("still writable")


def test_build_book_without_a_book_folder_runs_nothing(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TypeError, match="root"):
        bench.build_book(None)
    with pytest.raises(ValueError, match="root"):
        bench.build_book(tmp_path)
    assert ran == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", ["publish", "grading", "authoring", "bench"])
def test_a_command_with_an_unknown_option_exits_2_and_writes_nothing(module, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", f"shiftlab.book.{module}", "--no-such-option"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "error:" in result.stderr  # argparse names what is wrong
    assert list(tmp_path.iterdir()) == []
