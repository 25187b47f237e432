"""Routines and templates a therapist builds, copies and edits."""

from __future__ import annotations

from sqlalchemy import or_, select

from server.errors import Forbidden, Invalid, NotFound
from server.extensions import db
from server.models import Exercise, Routine, RoutineItem, Therapist
from server.services.dosing import dose_of, estimated_minutes, merge_dose
from server.services.library import illustration_url

ROUTINE_TEXT_FIELDS = ("name", "purpose", "suits", "frequency", "frequency_per_week", "progression")


def load_routine(therapist: Therapist, routine_id: int) -> Routine:
    """One of the therapist's routines or a library template (readable by every therapist)."""
    routine = db.session.get(Routine, routine_id)
    if routine is None or not (
        routine.owner_id == therapist.id
        or (routine.owner_id is None and routine.is_template and not routine.retired)
    ):
        raise NotFound("No such routine.")
    return routine


def _load_own_routine(therapist: Therapist, routine_id: int) -> Routine:
    routine = load_routine(therapist, routine_id)
    if routine.owner_id is None:
        raise Forbidden("Library templates cannot be changed; copy the template and edit the copy.")
    return routine


def list_routines(therapist: Therapist, templates: bool | None = None) -> list[Routine]:
    query = select(Routine).where(Routine.owner_id == therapist.id)
    if templates is not None:
        query = query.where(Routine.is_template.is_(templates))
    return list(db.session.scalars(query.order_by(Routine.updated_at.desc(), Routine.id.desc())))


def routine_minutes(routine: Routine) -> int:
    return estimated_minutes(dose_of(item) for item in routine.items)


def _build_items(therapist: Therapist, items: list[dict]) -> list[RoutineItem]:
    wanted = {item["exercise_id"] for item in items}
    exercises = {
        exercise.id: exercise
        for exercise in db.session.scalars(
            select(Exercise).where(
                Exercise.id.in_(wanted),
                or_(Exercise.owner_id.is_(None), Exercise.owner_id == therapist.id),
            )
        )
    }
    built = []
    for position, item in enumerate(items):
        exercise = exercises.get(item["exercise_id"])
        if exercise is None:
            raise Invalid(f"items.{position}.exercise_id", "No such exercise.")
        dose = merge_dose(dose_of(exercise), item)
        built.append(
            RoutineItem(position=position, exercise=exercise, note=item.get("note", ""), **dose)
        )
    return built


def create_routine(therapist: Therapist, data: dict) -> Routine:
    """A new routine from items, or a copy of a template or routine (`copy_of`)."""
    source_id = data.get("copy_of")
    if source_id is not None:
        source = load_routine(therapist, source_id)
        items = [
            {"exercise_id": item.exercise_id, "note": item.note, **dose_of(item)}
            for item in source.items
        ]
        fields = {name: getattr(source, name) for name in ROUTINE_TEXT_FIELDS}
        fields["name"] = data.get("name") or source.name
    else:
        if not data.get("items"):
            raise Invalid("items", "Add at least one exercise, or give copy_of to copy a routine.")
        if not data.get("name"):
            raise Invalid("name", "Give the routine a name.")
        items = data["items"]
        fields = {name: data[name] for name in ROUTINE_TEXT_FIELDS if name in data}
    routine = Routine(
        owner_id=therapist.id,
        is_template=data.get("is_template", False),
        items=_build_items(therapist, items),
        **fields,
    )
    db.session.add(routine)
    db.session.commit()
    return routine


def replace_routine(therapist: Therapist, routine_id: int, data: dict) -> Routine:
    """Replace name, notes and items. Clients keep the copy they were given at assignment."""
    routine = _load_own_routine(therapist, routine_id)
    for name in ROUTINE_TEXT_FIELDS:
        setattr(routine, name, data[name])
    routine.is_template = data["is_template"]
    routine.items = _build_items(therapist, data["items"])
    db.session.commit()
    return routine


def delete_routine(therapist: Therapist, routine_id: int) -> None:
    routine = _load_own_routine(therapist, routine_id)
    db.session.delete(routine)
    db.session.commit()


def snapshot(routine: Routine) -> dict:
    """What an assignment keeps: the routine with each exercise's words and dose copied in.

    Stored in exactly the shape the API shows (SnapshotSchema), so reading it back costs nothing.
    """
    return {
        "name": routine.name,
        "items": [
            {
                "position": item.position,
                "exercise_id": item.exercise_id,
                "slug": item.exercise.slug,
                "name": item.exercise.name,
                "summary": item.exercise.summary,
                "kind": item.exercise.kind,
                "regions": list(item.exercise.regions),
                "equipment": list(item.exercise.equipment),
                "steps": list(item.exercise.steps),
                "cues": list(item.exercise.cues),
                "cautions": list(item.exercise.cautions),
                "illustration_url": illustration_url(item.exercise.illustration),
                "dose": dose_of(item),
                "note": item.note,
            }
            for item in routine.items
        ],
    }
