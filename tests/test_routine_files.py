"""The routine library on disk: valid, complete, and loaded idempotently."""

import shutil
import tomllib
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.config import PROJECT_ROOT
from server.models import Exercise, Routine
from server.schemas.common import EQUIPMENT, KINDS, REGIONS
from server.services import routine_files
from server.services.dosing import DOSE_FIELDS, estimated_minutes, merge_dose

ROUTINES = PROJECT_ROOT / "routines"
SVG = "{http://www.w3.org/2000/svg}"


def all_exercises() -> list[dict]:
    return routine_files.read_library(ROUTINES).exercises


def test_every_file_is_valid():
    assert routine_files.check_library(ROUTINES) == []


def test_the_library_covers_every_region_kind_and_level():
    exercises = all_exercises()
    assert len(exercises) >= 60
    for region in REGIONS:
        in_region = [e for e in exercises if region in e["regions"]]
        assert len(in_region) >= 10, region
        assert {e["kind"] for e in in_region} == set(KINDS), region
        assert {e["level"] for e in in_region} == {1, 2, 3}, region
    assert {item for e in exercises for item in e["equipment"]} <= set(EQUIPMENT)
    assert len({e["slug"] for e in exercises}) == len(exercises)


def test_every_exercise_is_described_for_someone_who_never_saw_it():
    for exercise in all_exercises():
        assert 3 <= len(exercise["steps"]) <= 7, exercise["slug"]
        assert 1 <= len(exercise["cues"]) <= 3, exercise["slug"]
        assert exercise["cautions"], exercise["slug"]
        dose = exercise["dose"]
        assert (dose["reps"] is None) != (dose["hold_seconds"] is None), exercise["slug"]
        if exercise["kind"] == "stretch" and dose["hold_seconds"]:
            assert 10 <= dose["hold_seconds"] <= 60, exercise["slug"]


def test_every_illustration_is_a_small_titled_svg():
    for exercise in all_exercises():
        path = ROUTINES / "illustrations" / exercise["illustration"]
        assert path.stat().st_size < 8 * 1024, path.name
        svg = ElementTree.fromstring(path.read_bytes())
        assert svg.tag == SVG + "svg", path.name
        title = svg.find(SVG + "title")
        assert title is not None and title.text.strip(), path.name
        assert svg.get("viewBox"), path.name


def test_every_template_references_existing_exercises_and_says_what_it_is_for():
    library = routine_files.read_library(ROUTINES)
    slugs = {e["slug"]: e for e in library.exercises}
    assert len(library.templates) >= 10
    minutes = {}
    for template in library.templates:
        assert all(item["exercise"] in slugs for item in template["item"]), template["slug"]
        assert template["purpose"] and template["suits"] and template["progression"]
        doses = [merge_dose({k: slugs[i["exercise"]]["dose"][k] for k in DOSE_FIELDS}, i) for i in template["item"]]
        minutes[template["slug"]] = estimated_minutes(doses)
    assert minutes["two-minute-desk-break"] <= 3
    assert all(m <= 30 for m in minutes.values())


def test_the_safety_text_covers_clearance_and_red_flags():
    safety = tomllib.loads((ROUTINES / "safety.toml").read_text())
    text = " ".join(safety["clearance_needed"]).lower()
    for condition in ("infection", "fracture", "osteoporosis"):
        assert condition in text, condition
    assert len(safety["stop_and_seek_care"]) >= 4


def test_loading_twice_changes_nothing(db, app):
    report = routine_files.load_library(app.config["ROUTINES_PATH"])
    counts = report.counts
    assert set(counts) == {"exercises unchanged", "templates unchanged"}
    assert counts["exercises unchanged"] == len(all_exercises())


@pytest.fixture()
def library_copy(tmp_path, db, app):
    """A writable copy of routines/; the real library is loaded back afterwards."""
    copy = tmp_path / "routines"
    shutil.copytree(ROUTINES, copy)
    yield copy
    routine_files.load_library(app.config["ROUTINES_PATH"])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_a_broken_file_is_reported_with_its_name_and_field(library_copy):
    hips = library_copy / "exercises" / "hips.toml"
    _edit(hips, "kind = ", "kind = \"yoga\"\nlevelx = 1\nkindx = ")
    problems = routine_files.check_library(library_copy)
    assert any("exercises/hips.toml" in p and "kind" in p for p in problems), problems
    assert any("levelx" in p for p in problems), problems
    broken_toml = library_copy / "templates" / "hip-mobility.toml"
    broken_toml.write_text("name = [unclosed")
    problems = routine_files.check_library(library_copy)
    assert any("templates/hip-mobility.toml" in p and "TOML" in p for p in problems), problems
    with pytest.raises(routine_files.LibraryInvalid):
        routine_files.load_library(library_copy)


def test_missing_illustrations_and_unknown_template_exercises_are_reported(library_copy):
    first = all_exercises()[0]
    (library_copy / "illustrations" / first["illustration"]).unlink()
    _edit(library_copy / "templates" / "hip-mobility.toml", 'exercise = "', 'exercise = "no-such-move-')
    problems = routine_files.check_library(library_copy)
    assert any(first["slug"] in p and "illustration" in p and "missing" in p for p in problems), problems
    assert any("hip-mobility.toml" in p and "no-such-move-" in p for p in problems), problems


def test_changes_update_and_removed_exercises_retire_when_used(library_copy, db, make):
    therapist = make.therapist()
    exercises = all_exercises()
    used, unused = exercises[0]["slug"], exercises[1]["slug"]
    used_id = db.session.scalar(select(Exercise.id).where(Exercise.slug == used, Exercise.owner_id.is_(None)))
    therapist.post("/api/routines", json={"name": "Uses it", "items": [{"exercise_id": used_id}]})
    for path in (library_copy / "exercises").glob("*.toml"):
        text = path.read_text()
        for slug in (used, unused):
            start = text.find(f'slug = "{slug}"')
            if start != -1:
                block_start = text.rfind("[[exercise]]", 0, start)
                block_end = text.find("[[exercise]]", start)
                text = text[:block_start] + (text[block_end:] if block_end != -1 else "")
        path.write_text(text)
    for template in (library_copy / "templates").glob("*.toml"):
        if f'"{used}"' in template.read_text() or f'"{unused}"' in template.read_text():
            template.unlink()
    _edit(library_copy / "exercises" / "core.toml", 'name = "', 'name = "Renamed ')
    report = routine_files.load_library(library_copy)
    assert report.counts["exercises retired"] == 1
    assert report.counts["exercises deleted"] == 1
    assert report.counts["exercises updated"] == 1
    db.session.expire_all()
    retired = db.session.scalar(select(Exercise).where(Exercise.slug == used))
    assert retired.retired is True
    assert db.session.scalar(select(func.count()).select_from(Exercise).where(Exercise.slug == unused)) == 0
    assert used_id not in [e["id"] for e in therapist.get("/api/exercises").get_json()]
    routine = therapist.get("/api/routines").get_json()[0]
    assert routine["items"][0]["exercise"]["id"] == used_id
    again = routine_files.load_library(library_copy)
    assert "exercises updated" not in again.counts and "exercises retired" not in again.counts
    assert db.session.scalar(select(func.count()).select_from(Routine).where(Routine.owner_id.is_(None))) == len(
        list((library_copy / "templates").glob("*.toml"))
    )


def test_cli_check_and_load(runner, library_copy):
    ok = runner.invoke(args=["routines", "check"])
    assert ok.exit_code == 0 and "valid" in ok.output
    loaded = runner.invoke(args=["routines", "load"])
    assert loaded.exit_code == 0 and "unchanged" in loaded.output
    _edit(library_copy / "exercises" / "glutes.toml", "level = 1", "level = 9")
    runner.app.config["ROUTINES_PATH"], real = library_copy, runner.app.config["ROUTINES_PATH"]
    try:
        bad = runner.invoke(args=["routines", "check"])
        assert bad.exit_code != 0 and "glutes.toml" in bad.output and "level" in bad.output
        refused = runner.invoke(args=["routines", "load"])
        assert refused.exit_code != 0 and "nothing was loaded" in refused.output
    finally:
        runner.app.config["ROUTINES_PATH"] = real


def test_illustrations_are_served_safely(client):
    name = all_exercises()[0]["illustration"]
    with client.get(f"/illustrations/{name}") as response:
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert client.get("/illustrations/../safety.toml").status_code == 404
    assert client.get("/illustrations/nope.svg").status_code == 404


def test_no_two_exercises_share_a_name():
    names = Counter(e["name"].lower() for e in all_exercises())
    assert [n for n, c in names.items() if c > 1] == []
