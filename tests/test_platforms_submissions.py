"""Discovery of hand-ins in Canvas, Moodle and Gradescope downloads, plain folders and zips."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.platforms import submissions as sm
from grader.platforms.submissions import Submission, UnsafeArchive, discover, extract_zip, unpacked

ENGINE = "class Value:\n    pass\n"


def write(p: Path, text: str = ENGINE) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def zip_dir(folder: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return out


def by_id(subs: list[Submission]) -> dict[str, Submission]:
    return {s.student_id: s for s in subs}


# --------------------------------------------------------------------------- Canvas


@pytest.fixture
def canvas_dir(tmp_path: Path) -> Path:
    d = tmp_path / "canvas"
    write(d / "doejane_48213_9911001_engine.py", "# jane\n")
    # A late student who re-uploaded: Canvas renamed the file engine-1.py, and an older copy is present.
    write(d / "smithbob_LATE_1207_9911050_engine.py", "# bob old\n")
    write(d / "smithbob_LATE_1207_9911077_engine-1.py", "# bob new\n")
    # Two files in one submission.
    write(d / "obrienmary_3301_9912000_engine.py", "# mary engine\n")
    write(d / "obrienmary_3301_9912001_nn.py", "# mary nn\n")
    # A notebook, and an online text entry with no file.
    write(d / "leeann_77_9913000_Backprop.ipynb", "{}")
    write(d / "kimsue_LATE_88_text.html", "<p>see attached</p>")
    # Anonymous grading.
    write(d / "anon_Xy12Z_9914000_engine.py", "# anon\n")
    return d


def test_canvas_names_ids_and_late(canvas_dir: Path, tmp_path: Path):
    subs = discover(canvas_dir, workdir=tmp_path / "work")
    ids = [s.student_id for s in subs]
    assert ids == ["77", "88", "1207", "3301", "48213", "anon_Xy12Z"]  # numeric ids numerically
    s = by_id(subs)
    assert all(x.source == "canvas" for x in subs)
    assert s["48213"].name == "doejane" and not s["48213"].late
    assert s["48213"].path.name == "engine.py"  # the student's name for it, not Canvas's
    assert s["48213"].path.read_text() == "# jane\n"
    assert s["1207"].late and s["88"].late
    assert s["77"].path.suffix == ".ipynb"


def test_canvas_resubmission_newest_wins_under_original_name(canvas_dir: Path, tmp_path: Path):
    bob = by_id(discover(canvas_dir, workdir=tmp_path / "work"))["1207"]
    assert bob.path.name == "engine.py"
    assert bob.path.read_text() == "# bob new\n"
    assert "older version" in bob.note


def test_canvas_several_files_become_one_folder(canvas_dir: Path, tmp_path: Path):
    mary = by_id(discover(canvas_dir, workdir=tmp_path / "work"))["3301"]
    assert mary.path.is_dir()
    assert sorted(p.name for p in mary.path.iterdir()) == ["engine.py", "nn.py"]
    assert (mary.path / "engine.py").read_text() == "# mary engine\n"


def test_canvas_online_text_and_anonymous_are_flagged(canvas_dir: Path, tmp_path: Path):
    s = by_id(discover(canvas_dir, workdir=tmp_path / "work"))
    assert "online text" in s["88"].note
    assert "anonymous" in s["anon_Xy12Z"].note


def test_canvas_original_name_rule():
    assert sm.canvas_original_name("engine-2.py") == ("engine.py", 2)
    assert sm.canvas_original_name("a.tar-1.gz") == ("a.tar.gz", 1)
    assert sm.canvas_original_name("engine.py") == ("engine.py", 0)
    assert sm.canvas_original_name("README-3") == ("README", 3)


def test_canvas_zip_download_with_student_zip(tmp_path: Path):
    src = tmp_path / "src"
    inner = tmp_path / "inner"
    write(inner / "hw" / "engine.py", "# zipped\n")
    write(inner / "__MACOSX" / "hw" / "._engine.py", "junk")
    zip_dir(inner, src / "doejane_48213_9911001_handin.zip")
    write(src / "smithbob_1207_9911050_engine.py")
    download = zip_dir(src, tmp_path / "submissions.zip")
    with unpacked(download) as subs:
        s = by_id(subs)
        jane = s["48213"]
        assert jane.path.name == "engine.py" and jane.path.read_text() == "# zipped\n"
        assert "unpacked from" in jane.note
        work = jane.path
        while work.parent.name and not work.name.startswith("grader-submissions-"):
            work = work.parent
        assert work.exists()
    assert not work.exists()  # the temporary folder is removed


# --------------------------------------------------------------------------- Moodle


def test_moodle_folders_and_onlinetext(tmp_path: Path):
    d = tmp_path / "moodle"
    write(d / "Jane Doe_1043210_assignsubmission_file_" / "engine.py", "# jane\n")
    write(d / "Jane Doe_1043210_assignsubmission_onlinetext_" / "onlinetext.html", "<p>hi</p>")
    write(d / "Bob van Smith_1043211_assignsubmission_file" / "engine.py")  # newer Moodle: no trailing _
    write(d / "Bob van Smith_1043211_assignsubmission_file" / "nn.py")
    write(d / "Ann Lee_1043212_assignsubmission_onlinetext_" / "onlinetext.html", "<p>text</p>")
    subs = discover(d, workdir=tmp_path / "work")
    assert [s.student_id for s in subs] == ["1043210", "1043211", "1043212"]
    s = by_id(subs)
    assert all(x.source == "moodle" for x in subs)
    assert s["1043210"].name == "Jane Doe"
    assert s["1043210"].path.name == "engine.py"  # a folder with one hand-in file stands for it
    assert s["1043211"].path.is_dir() and s["1043211"].name == "Bob van Smith"
    assert "onlinetext" in s["1043212"].note


def test_moodle_flat_download(tmp_path: Path):
    d = tmp_path / "flat"
    write(d / "Jane Doe_1043210_assignsubmission_file_engine.py", "# flat\n")
    s = by_id(discover(d, workdir=tmp_path / "work"))["1043210"]
    assert s.path.name == "engine.py" and s.path.read_text() == "# flat\n"


# --------------------------------------------------------------------------- Gradescope

GS_META = """\
submission_201:
  :submitters:
  - :name: Jane Doe
    :sid: '48213'
    :email: jane@uni.edu
  :created_at: 2026-12-02 10:15:00.123456000 -08:00
  :score: 0.0
  :status: processed
  :history: []
submission_202:
  :submitters:
  - :name: Pair One
    :sid: '200'
    :email: one@uni.edu
  - :name: Pair Two
    :sid: '201'
    :email: two@uni.edu
  :created_at: 2026-11-30 09:00:00.000000000 -08:00
  :history:
  - :id: 190
    :created_at: 2026-11-29 09:00:00.000000000 -08:00
    :score: 3.0
submission_203:
  :submitters:
  - :name: No Sid
    :sid:
    :email: nosid@uni.edu
  :created_at: 2026-11-30 09:00:00.000000000 -08:00
  :late?: true
"""


@pytest.fixture
def gradescope_zip(tmp_path: Path) -> Path:
    root = tmp_path / "gs" / "assignment_5551_export"
    (root / "submission_metadata.yml").parent.mkdir(parents=True)
    (root / "submission_metadata.yml").write_text(GS_META)
    write(root / "submission_201" / "engine.py", "# jane\n")
    write(root / "submission_202" / "engine.py", "# pair\n")
    write(root / "submission_202" / "README.md", "notes")
    write(root / "submission_203" / "engine.py", "# nosid\n")
    write(root / "stray.py", "# not in metadata\n")
    return zip_dir(tmp_path / "gs", tmp_path / "export.zip")


def test_gradescope_export(gradescope_zip: Path, tmp_path: Path):
    subs = discover(gradescope_zip, workdir=tmp_path / "work")
    assert [s.student_id for s in subs] == ["200", "201", "48213", "nosid@uni.edu", "stray"]
    s = by_id(subs)
    jane = s["48213"]
    assert jane.source == "gradescope" and jane.name == "Jane Doe" and jane.email == "jane@uni.edu"
    assert jane.path.name == "engine.py"
    assert jane.submitted_at == datetime(2026, 12, 2, 18, 15, 0, 123456, tzinfo=timezone.utc)
    assert jane.submitted_at.utcoffset() == timedelta(hours=-8)
    assert not jane.late
    assert s["200"].path == s["201"].path and s["200"].path.is_dir()
    assert "group submission with Pair Two" in s["200"].note
    assert s["nosid@uni.edu"].late and "no SID" in s["nosid@uni.edu"].note
    assert s["stray"].source == "file" and "not listed" in s["stray"].note
    assert jane.student_extra() == {
        "id": "48213", "name": "Jane Doe", "source": "gradescope", "path": "submission_201/engine.py",  # as in the download
        "email": "jane@uni.edu", "submitted_at": "2026-12-02T10:15:00.123456-08:00"}


# --------------------------------------------------------------------------- generic


def test_generic_files_and_folders(tmp_path: Path):
    d = tmp_path / "plain"
    write(d / "alice.py")
    write(d / "bob.ipynb", "{}")
    write(d / "carol" / "engine.py")
    write(d / "carol" / "__pycache__" / "engine.cpython-311.pyc", "x")
    write(d / "dave" / "engine.py")
    write(d / "dave" / "nn.py")
    write(d / "notes.txt", "hello")
    write(d / ".DS_Store", "junk")
    subs = discover(d, workdir=tmp_path / "work")
    assert [s.student_id for s in subs] == ["alice", "bob", "carol", "dave", "notes.txt"]
    s = by_id(subs)
    assert s["alice"].source == "file" and s["alice"].path == d / "alice.py"
    assert s["carol"].source == "folder" and s["carol"].path == d / "carol" / "engine.py"
    assert s["dave"].path == d / "dave"
    assert "unrecognised" in s["notes.txt"].note


def test_discovery_is_deterministic(canvas_dir: Path, tmp_path: Path):
    a = [(s.student_id, s.name, s.late, s.source) for s in discover(canvas_dir, workdir=tmp_path / "a")]
    b = [(s.student_id, s.name, s.late, s.source) for s in discover(canvas_dir, workdir=tmp_path / "b")]
    assert a == b


def test_single_student_folder_is_not_unwrapped(tmp_path: Path):
    d = tmp_path / "one"
    write(d / "alice" / "engine.py")
    subs = discover(d, workdir=tmp_path / "work")
    assert [(s.student_id, s.source) for s in subs] == [("alice", "folder")]


def test_missing_source(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        discover(tmp_path / "nope")


# --------------------------------------------------------------------------- zip safety


def raw_zip(out: Path, entries: list[tuple[str, bytes]], link: str | None = None) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return out


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/abs/evil.py", "C:/evil.py", "..\\evil.py"])
def test_zip_slip_is_rejected(tmp_path: Path, name: str):
    z = raw_zip(tmp_path / "bad.zip", [("ok.py", b"x"), (name, b"evil")])
    with pytest.raises(UnsafeArchive):
        extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path / "out" / "ok.py").exists()  # nothing written from an unsafe list


def test_zip_links_rejected(tmp_path: Path):
    z = raw_zip(tmp_path / "link.zip", [("ok.py", b"x")], link="passwd")
    with pytest.raises(UnsafeArchive, match="link"):
        extract_zip(z, tmp_path / "out")


def test_zip_size_and_count_caps(tmp_path: Path):
    big = raw_zip(tmp_path / "big.zip", [("zeros.bin", b"\0" * 200_000)])
    with pytest.raises(UnsafeArchive, match="bytes"):
        extract_zip(big, tmp_path / "o1", max_total_bytes=100_000)
    many = raw_zip(tmp_path / "many.zip", [(f"f{i}.py", b"x") for i in range(30)])
    with pytest.raises(UnsafeArchive, match="files"):
        extract_zip(many, tmp_path / "o2", max_files=10)
    assert extract_zip(many, tmp_path / "o3", max_files=30).joinpath("f29.py").read_bytes() == b"x"


def test_zip_skips_macosx_and_rejects_non_zip(tmp_path: Path):
    z = raw_zip(tmp_path / "mac.zip", [("hw/engine.py", b"x"), ("__MACOSX/hw/._engine.py", b"junk"),
                                        ("hw/.DS_Store", b"junk")])
    out = extract_zip(z, tmp_path / "out")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["hw", "hw/engine.py"]
    not_zip = write(tmp_path / "fake.zip", "not a zip")
    with pytest.raises(UnsafeArchive):
        extract_zip(not_zip, tmp_path / "o")


def test_unsafe_student_zip_flags_only_that_student(tmp_path: Path):
    d = tmp_path / "dl"
    d.mkdir()
    raw_zip(d / "doejane_48213_9911001_handin.zip", [("../../evil.py", b"evil")])
    write(d / "smithbob_1207_9911050_engine.py")
    s = by_id(discover(d, workdir=tmp_path / "work"))
    assert "rejected" in s["48213"].note and s["48213"].path.suffix == ".zip"
    assert s["1207"].note == ""
    assert not (tmp_path / "evil.py").exists()


# --------------------------------------------------------------------------- names in zips

EMILIE = "Émilie du Châtelet"


def test_canvas_single_file_keeps_the_students_own_name(tmp_path: Path):
    d = tmp_path / "dl"
    write(d / "doejane_1001_555_engine.py")
    (jane,) = discover(d, workdir=tmp_path / "w")
    assert jane.path.name == "engine.py"


@pytest.mark.skipif(not shutil.which("zip"), reason="Info-ZIP's zip is installed by .ci/run")
def test_a_moodle_zip_rezipped_by_info_zip_keeps_accented_names(tmp_path: Path):
    """Info-ZIP on Linux stores UTF-8 names without the UTF-8 flag; read as the zip's legacy
    code page (cp437) they would be mojibake."""
    d = tmp_path / "dl"
    write(d / f"{EMILIE}_4242_assignsubmission_file_" / "engine.py")
    out = tmp_path / "moodle.zip"
    subprocess.run(["zip", "-qr", str(out), "."], cwd=d, check=True,
                   env=dict(os.environ, LC_ALL="C.UTF-8"))
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(out).infolist())  # as found
    (emilie,) = discover(out, workdir=tmp_path / "w")
    assert (emilie.student_id, emilie.name) == ("4242", EMILIE)


def legacy_zip(out: Path, name: bytes, data: bytes) -> Path:
    """A zip whose one member's name is `name`, raw bytes with the UTF-8 flag off: written
    under an ASCII placeholder of the same length, then the name's bytes put in its place."""
    placeholder = b"n" * len(name)
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(placeholder.decode(), data)
    raw = out.read_bytes()
    assert raw.count(placeholder) == 2  # local header and central directory
    out.write_bytes(raw.replace(placeholder, name))
    return out


def test_a_legacy_cp437_name_is_read_as_cp437(tmp_path: Path):
    """A name that is not UTF-8 (an old Windows zipper's) falls back to the zip's code page."""
    name = f"{EMILIE}_77_assignsubmission_file_engine.py".encode("cp437")
    with pytest.raises(UnicodeDecodeError):
        name.decode("utf-8")
    out = legacy_zip(tmp_path / "old.zip", name, ENGINE.encode())
    (emilie,) = discover(out, workdir=tmp_path / "w")
    assert (emilie.student_id, emilie.name) == ("77", EMILIE)


def test_utf8_without_the_flag_written_by_hand(tmp_path: Path):
    name = f"{EMILIE}_4242_assignsubmission_file_engine.py".encode()
    out = legacy_zip(tmp_path / "u.zip", name, ENGINE.encode())
    (emilie,) = discover(out, workdir=tmp_path / "w")
    assert (emilie.student_id, emilie.name) == ("4242", EMILIE)
