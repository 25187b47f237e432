"""The exercise library and templates as a therapist sees them: search, read, add their own."""

from __future__ import annotations

from sqlalchemy import String, case, cast, func, or_, select

from server.errors import NotFound
from server.extensions import db
from server.models import Exercise, Routine, Therapist


def illustration_url(illustration: str | None) -> str | None:
    """Where the web app finds an exercise's drawing (served from routines/illustrations)."""
    return f"/illustrations/{illustration}" if illustration else None


def _visible_to(therapist: Therapist):
    """Library entries still in use plus the therapist's own; nobody sees another's own."""
    return or_(
        Exercise.owner_id == therapist.id,
        (Exercise.owner_id.is_(None)) & (Exercise.retired.is_(False)),
    )


def _json_list_has(column, value: str):
    # Regions and equipment are short lists from closed vocabularies (validated on input), stored
    # as JSON text. Matching the quoted value in that text is exact, portable across SQLite and
    # PostgreSQL, and keeps the search a single query.
    return cast(column, String).like(f'%"{value}"%')


def search_exercises(
    therapist: Therapist,
    *,
    region: str | None = None,
    kind: str | None = None,
    equipment: str | None = None,
    level: int | None = None,
    q: str | None = None,
) -> list[Exercise]:
    """Filter the library and the therapist's own exercises; best name matches first."""
    query = select(Exercise).where(_visible_to(therapist))
    if region:
        query = query.where(_json_list_has(Exercise.regions, region))
    if equipment:
        query = query.where(_json_list_has(Exercise.equipment, equipment))
    if kind:
        query = query.where(Exercise.kind == kind)
    if level:
        query = query.where(Exercise.level == level)
    order = [Exercise.level, Exercise.name, Exercise.id]
    if q:
        needle = q.strip().lower()
        pattern = f"%{_escape_like(needle)}%"
        name = func.lower(Exercise.name)
        in_text = or_(
            name.like(pattern, escape="\\"),
            func.lower(Exercise.summary).like(pattern, escape="\\"),
            func.lower(cast(Exercise.steps, String)).like(pattern, escape="\\"),
            func.lower(cast(Exercise.cues, String)).like(pattern, escape="\\"),
            func.lower(Exercise.slug).like(pattern, escape="\\"),
        )
        query = query.where(in_text)
        name_rank = case(
            (name == needle, 0),
            (name.like(f"{_escape_like(needle)}%", escape="\\"), 1),
            (name.like(pattern, escape="\\"), 2),
            else_=3,
        )
        order.insert(0, name_rank)
    query = query.order_by(*order)
    return list(db.session.scalars(query))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def load_exercise(therapist: Therapist, exercise_id: int) -> Exercise:
    exercise = db.session.get(Exercise, exercise_id)
    if exercise is None or not (
        exercise.owner_id == therapist.id or (exercise.owner_id is None and not exercise.retired)
    ):
        raise NotFound("No such exercise.")
    return exercise


def create_own_exercise(therapist: Therapist, fields: dict) -> Exercise:
    """A therapist's own exercise, visible to them alone, usable in their routines."""
    dose = fields.pop("dose")
    exercise = Exercise(owner_id=therapist.id, **fields, **dose)
    db.session.add(exercise)
    db.session.commit()
    return exercise


def list_templates(therapist: Therapist) -> list[Routine]:
    """Library templates, then the therapist's own saved templates."""
    query = (
        select(Routine)
        .where(
            Routine.is_template.is_(True),
            or_(
                Routine.owner_id == therapist.id,
                (Routine.owner_id.is_(None)) & (Routine.retired.is_(False)),
            ),
        )
        .order_by(Routine.owner_id.is_not(None), Routine.name, Routine.id)
    )
    return list(db.session.scalars(query))
