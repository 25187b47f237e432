"""The routine library on disk (routines/): read, check and load it into the database.

Loading is idempotent and keyed by slug: new entries are inserted, changed ones updated,
unchanged ones left alone. A library exercise that left the files but is used by a routine is
retired (hidden from search, kept for the routines that use it), never deleted.
"""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import marshmallow as ma
from sqlalchemy import select

from server.extensions import db
from server.models import Exercise, Routine, RoutineItem
from server.schemas.routine_files import ExerciseFileSchema, SafetyFileSchema, TemplateFileSchema
from server.services.dosing import DOSE_FIELDS, merge_dose

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
MAX_ILLUSTRATION_BYTES = 8 * 1024
EXERCISE_FIELDS = (
    "name", "summary", "regions", "kind", "level", "equipment", "steps", "cues", "cautions",
    "illustration",
)  # fmt: skip
TEMPLATE_FIELDS = ("name", "purpose", "suits", "frequency", "frequency_per_week", "progression")


class LibraryInvalid(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s) in the routine library")
        self.problems = problems


@dataclass
class Library:
    exercises: list[dict] = field(default_factory=list)
    templates: list[dict] = field(default_factory=list)
    safety: dict | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def _flatten(messages, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as 'field.sub: message' lines."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            name = (
                f"{prefix}[{key}]"
                if isinstance(key, int)
                else f"{prefix}.{key}"
                if prefix
                else str(key)
            )
            lines.extend(_flatten(value, name))
        return lines
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {m}" for m in messages]
    return [f"{prefix}: {messages}"]


def _read_toml(path: Path, root: Path, schema: ma.Schema, library: Library) -> dict | None:
    name = path.relative_to(root.parent) if root.parent in path.parents else path
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        library.problems.append(f"{name}: not valid TOML: {error}")
        return None
    try:
        return schema.load(raw)
    except ma.ValidationError as error:
        if isinstance(error.messages, dict) and isinstance(raw.get("exercise"), list):
            error.messages = _label_entries(error.messages, raw["exercise"])
        library.problems.extend(f"{name}: {line}" for line in _flatten(error.messages))
        return None


def _label_entries(messages: dict, entries: list) -> dict:
    """Name the failing exercise by its slug, so 'exercise[7]' becomes findable in the file."""
    nested = messages.get("exercise")
    if not isinstance(nested, dict):
        return messages
    labelled = {}
    for index, value in nested.items():
        slug = (
            entries[index].get("slug")
            if isinstance(index, int) and index < len(entries) and isinstance(entries[index], dict)
            else None
        )
        labelled[f"{index} ({slug})" if slug else index] = value
    return {**messages, "exercise": labelled}


def _check_illustration(path: Path) -> str | None:
    if not path.is_file():
        return "file is missing"
    if path.stat().st_size > MAX_ILLUSTRATION_BYTES:
        return f"larger than {MAX_ILLUSTRATION_BYTES} bytes"
    try:
        svg = ElementTree.fromstring(path.read_bytes())
    except ElementTree.ParseError as error:
        return f"not well-formed XML: {error}"
    if svg.tag != SVG_NAMESPACE + "svg":
        return "the root element is not an SVG <svg>"
    children = list(svg)
    if (
        not children
        or children[0].tag != SVG_NAMESPACE + "title"
        or not (children[0].text or "").strip()
    ):
        return "the first element must be a non-empty <title> for screen readers"
    for element in svg.iter():
        local = element.tag.removeprefix(SVG_NAMESPACE)
        if local in ("script", "foreignObject", "image") or any(
            a.startswith("on") for a in element.attrib
        ):
            return f"<{local}> or event attributes are not allowed"
    return None


def read_library(root: Path) -> Library:
    """Read and validate every file under `root`; problems are collected, not raised."""
    library = Library()
    exercise_files = sorted((root / "exercises").glob("*.toml"))
    if not exercise_files:
        library.problems.append(f"{root / 'exercises'}: no exercise files found")
    seen: dict[str, str] = {}
    for path in exercise_files:
        loaded = _read_toml(path, root, ExerciseFileSchema(), library)
        for entry in (loaded or {}).get("exercise", []):
            where = f"{path.relative_to(root.parent)}: exercise {entry['slug']}"
            if entry["slug"] in seen:
                library.problems.append(f"{where}: slug: also defined in {seen[entry['slug']]}")
                continue
            seen[entry["slug"]] = path.name
            problem = _check_illustration(root / "illustrations" / entry["illustration"])
            if problem:
                library.problems.append(
                    f"{where}: illustration: {entry['illustration']}: {problem}"
                )
            library.exercises.append(entry)
    for path in sorted((root / "templates").glob("*.toml")):
        template = _read_toml(path, root, TemplateFileSchema(), library)
        if template is None:
            continue
        where = f"{path.relative_to(root.parent)}"
        if path.stem != template["slug"]:
            library.problems.append(f"{where}: slug: must match the file name ({path.stem})")
        for index, item in enumerate(template["item"]):
            if item["exercise"] not in seen:
                library.problems.append(
                    f"{where}: item[{index}].exercise: no exercise '{item['exercise']}'"
                )
        library.templates.append(template)
    safety_path = root / "safety.toml"
    if safety_path.is_file():
        library.safety = _read_toml(safety_path, root, SafetyFileSchema(), library)
    else:
        library.problems.append(f"{safety_path}: missing")
    return library


def check_library(root: Path) -> list[str]:
    return read_library(root).problems


def _exercise_values(entry: dict) -> dict:
    values = {name: entry[name] for name in EXERCISE_FIELDS}
    values.update({name: entry["dose"][name] for name in DOSE_FIELDS})
    return values


def _upsert_exercises(library: Library, report: LoadReport) -> dict[str, Exercise]:
    existing = {
        exercise.slug: exercise
        for exercise in db.session.scalars(select(Exercise).where(Exercise.owner_id.is_(None)))
    }
    for entry in library.exercises:
        values = {**_exercise_values(entry), "retired": False}
        exercise = existing.get(entry["slug"])
        if exercise is None:
            exercise = Exercise(slug=entry["slug"], owner_id=None, **values)
            db.session.add(exercise)
            existing[entry["slug"]] = exercise
            report.add("exercises inserted")
        elif any(getattr(exercise, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(exercise, name, value)
            report.add("exercises updated")
        else:
            report.add("exercises unchanged")
    db.session.flush()
    return existing


def _retire_missing_exercises(
    library: Library, exercises: dict[str, Exercise], report: LoadReport
) -> None:
    """Run after the templates are loaded, so only routines that still exist count as users."""
    in_files = {entry["slug"] for entry in library.exercises}
    used = set(db.session.scalars(select(RoutineItem.exercise_id).distinct()))
    for slug, exercise in exercises.items():
        if slug in in_files:
            continue
        if exercise.id in used:
            if not exercise.retired:
                exercise.retired = True
                report.add("exercises retired")
        else:
            db.session.delete(exercise)
            report.add("exercises deleted")


def _template_items(template: dict, exercises: dict[str, Exercise]) -> list[tuple]:
    items = []
    for item in template["item"]:
        exercise = exercises[item["exercise"]]
        default = {name: getattr(exercise, name) for name in DOSE_FIELDS}
        dose = merge_dose(default, item)
        items.append((exercise.id, *(dose[name] for name in DOSE_FIELDS), item["note"]))
    return items


def _load_templates(library: Library, exercises: dict[str, Exercise], report: LoadReport) -> None:
    existing = {
        routine.slug: routine
        for routine in db.session.scalars(select(Routine).where(Routine.owner_id.is_(None)))
    }
    for template in library.templates:
        values = {name: template[name] for name in TEMPLATE_FIELDS}
        wanted_items = _template_items(template, exercises)
        routine = existing.get(template["slug"])
        if routine is None:
            routine = Routine(slug=template["slug"], owner_id=None, is_template=True, **values)
            db.session.add(routine)
            report.add("templates inserted")
        else:
            current_items = [
                (i.exercise_id, *(getattr(i, name) for name in DOSE_FIELDS), i.note)
                for i in routine.items
            ]
            unchanged = (
                current_items == wanted_items
                and not routine.retired
                and all(getattr(routine, name) == value for name, value in values.items())
            )
            if unchanged:
                report.add("templates unchanged")
                continue
            for name, value in values.items():
                setattr(routine, name, value)
            routine.retired = False
            report.add("templates updated")
        routine.items = [
            RoutineItem(
                position=position,
                exercise_id=exercise_id,
                note=note,
                **dict(zip(DOSE_FIELDS, dose, strict=False)),
            )
            for position, (exercise_id, *dose, note) in enumerate(wanted_items)
        ]
    in_files = {template["slug"] for template in library.templates}
    for slug, routine in existing.items():
        if slug not in in_files:
            # Assignments keep their own copy, so a template can go without touching anyone.
            db.session.delete(routine)
            report.add("templates deleted")


def load_library(root: Path) -> LoadReport:
    """Bring the database in line with the files; refuses to load anything if a file is invalid."""
    library = read_library(root)
    if library.problems:
        raise LibraryInvalid(library.problems)
    report = LoadReport()
    exercises = _upsert_exercises(library, report)
    _load_templates(library, exercises, report)
    db.session.flush()
    _retire_missing_exercises(library, exercises, report)
    db.session.commit()
    return report


@lru_cache(maxsize=4)
def _safety_cached(path: Path, mtime: float) -> dict:
    library = Library()
    safety = _read_toml(path, path.parent, SafetyFileSchema(), library)
    if safety is None:
        raise LibraryInvalid(library.problems)
    return safety


def safety_text(root: Path) -> dict:
    """The pre-exercise screening text, re-read when the file changes."""
    path = root / "safety.toml"
    return _safety_cached(path, path.stat().st_mtime)
