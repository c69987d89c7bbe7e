"""Where the allowed imports live is remembered between runs (grader/sandbox/cache.py): the
answer is the one `importlib.metadata` gives, found again whenever something it was read from
changes, and a cache file someone else could have written is never believed."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.sandbox import cache, paths


def install(site: Path, name: str, version: str, tops: list[str], requires=()) -> Path:
    """A distribution as pip leaves it: its top-level folders and a .dist-info with METADATA
    and RECORD."""
    for top in tops:
        (site / top).mkdir(parents=True, exist_ok=True)
        (site / top / "__init__.py").write_text("")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"  # as pip names it
    info.mkdir(parents=True)
    requires_lines = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   + requires_lines)
    (info / "RECORD").write_text("".join(f"{t}/__init__.py,,\n" for t in tops)
                                 + f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    return info


def uninstall(info: Path) -> None:
    for f in info.iterdir():
        f.unlink()
    info.rmdir()


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paths.locate.cache_clear()
    yield folder
    paths.locate.cache_clear()


def fresh(name: str) -> dict[str, str]:
    """What `locate` answers in a new grader process (its in-memory memo emptied)."""
    paths.locate.cache_clear()
    return paths.locate(name)


def real(site: Path, *names: str) -> dict[str, str]:
    return {n: os.path.realpath(site / n) for n in names}


def test_the_answer_is_kept_and_read_back(site):
    install(site, "skalar", "1.0", ["skalar"], requires=["skalar-core"])
    install(site, "skalar-core", "1.0", ["skalar_core"])
    first = fresh("skalar")
    assert first == real(site, "skalar", "skalar_core")
    files = list(Path(cache.folder()).glob("imports-*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["names"]["skalar"]["found"] == first
    assert cache.read("skalar") == first
    assert fresh("skalar") == first


def test_an_upgrade_is_seen(site):
    old = install(site, "skalar", "1.0", ["skalar"])
    assert fresh("skalar") == real(site, "skalar")
    uninstall(old)
    install(site, "skalar", "2.0", ["skalar", "skalar_libs"])
    assert fresh("skalar") == real(site, "skalar", "skalar_libs")


def test_a_requirement_installed_later_is_seen(site):
    install(site, "skalar", "1.0", ["skalar"], requires=["skalar-core"])
    assert fresh("skalar") == real(site, "skalar")  # its requirement is not installed yet
    install(site, "skalar-core", "1.0", ["skalar_core"])
    assert fresh("skalar") == real(site, "skalar", "skalar_core")


def test_a_record_rewritten_in_place_is_seen(site):
    """A RECORD changed without the site folder changing (a reinstall over the same version)."""
    (site / "skalar_libs").mkdir()  # there already, but not in RECORD
    info = install(site, "skalar", "1.0", ["skalar"])
    assert fresh("skalar") == real(site, "skalar")
    (info / "RECORD").write_text((info / "RECORD").read_text() + "skalar_libs/a.so,,\n")
    stat = (info / "RECORD").stat()
    os.utime(info / "RECORD", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert fresh("skalar") == real(site, "skalar", "skalar_libs")


def test_another_sys_path_is_another_answer(site, tmp_path, monkeypatch):
    install(site, "skalar", "1.0", ["skalar"])
    assert fresh("skalar") == real(site, "skalar")
    first = tmp_path / "first"
    first.mkdir()
    install(first, "skalar", "3.0", ["skalar"])
    monkeypatch.syspath_prepend(str(first))
    assert fresh("skalar") == real(first, "skalar")


def tampered(site: Path, found: dict[str, str]) -> Path:
    """The cache file of a located package, rewritten to name `found` instead."""
    install(site, "skalar", "1.0", ["skalar"])
    fresh("skalar")
    file = next(Path(cache.folder()).glob("imports-*.json"))
    data = json.loads(file.read_text())
    data["names"]["skalar"]["found"] = found
    file.write_text(json.dumps(data))
    return file


def test_a_cache_file_others_may_write_is_not_believed(site):
    file = tampered(site, {"skalar": "/etc"})
    assert cache.read("skalar") == {"skalar": "/etc"}  # believed while only its owner may write
    file.chmod(0o666)
    assert cache.read("skalar") is None
    assert fresh("skalar") == real(site, "skalar")
    file = next(Path(cache.folder()).glob("imports-*.json"))  # written again, as its owner's
    assert file.stat().st_mode & 0o022 == 0
    assert json.loads(file.read_text())["names"]["skalar"]["found"] == real(site, "skalar")


def test_a_cache_naming_the_grader_is_refused_all_the_same(site):
    """The file is this user's own, yet what it names is checked as a fresh answer is."""
    tampered(site, {"skalar": str(paths.GRADER)})
    with pytest.raises(ValueError, match="it would show them the grader"):
        fresh("skalar")


def test_an_entry_that_is_a_path_is_not_believed(site):
    tampered(site, {"../../etc": "/etc"})
    assert cache.read("skalar") is None
    assert fresh("skalar") == real(site, "skalar")


def test_no_writable_cache_folder_still_answers(site, tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    install(site, "skalar", "1.0", ["skalar"])
    assert fresh("skalar") == real(site, "skalar")
    assert cache.read("skalar") is None


def test_not_installed_is_not_remembered(site):
    with pytest.raises(ValueError, match="it is not installed"):
        fresh("skalar")
    install(site, "skalar", "1.0", ["skalar"])
    assert fresh("skalar") == real(site, "skalar")
