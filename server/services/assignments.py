"""Assignments: routines given to clients with a schedule, and what each client has due today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select

from server.errors import Conflict, Invalid, NotFound
from server.extensions import db
from server.models import Assignment, Client, SessionLog, Therapist
from server.orm import utcnow
from server.push import outbox
from server.services import audit, routines
from server.services.clients import load_client
from server.services.schedule import Plan, is_due, local_today, week_start

DEFAULT_TIMES_PER_WEEK = 3


def plan_of(assignment: Assignment) -> Plan:
    """The assignment's schedule as plain dates; an ended assignment stops the day before it ended."""
    last_day = assignment.end_date
    if assignment.ended_on is not None:
        stopped = assignment.ended_on - timedelta(days=1)
        last_day = stopped if last_day is None else min(last_day, stopped)
    return Plan(
        start=assignment.start_date,
        last_day=last_day,
        weekdays=frozenset(assignment.weekdays) if assignment.weekdays is not None else None,
        times_per_week=assignment.times_per_week,
        pauses=tuple(
            (date.fromisoformat(p["from"]), date.fromisoformat(p["to"]) if p["to"] else None)
            for p in assignment.pauses or []
        ),
    )


def load_assignment(therapist: Therapist, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("No such assignment.")
    client = db.session.get(Client, assignment.client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound("No such assignment.")
    return assignment


def list_assignments(therapist: Therapist, client_id: int) -> list[Assignment]:
    client = load_client(therapist, client_id, "assignments.read")
    return list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.client_id == client.id)
            .order_by(Assignment.created_at.desc(), Assignment.id.desc())
        )
    )


def _apply_schedule(assignment: Assignment, data: dict) -> None:
    if "weekdays" in data and "times_per_week" in data:
        raise Invalid("weekdays", "Give either weekdays or times_per_week, not both.")
    if "weekdays" in data:
        assignment.weekdays = sorted(set(data["weekdays"]))
        assignment.times_per_week = None
    elif "times_per_week" in data:
        assignment.times_per_week = data["times_per_week"]
        assignment.weekdays = None


def create_assignment(
    therapist: Therapist, client_id: int, data: dict, now: datetime | None = None
) -> Assignment:
    """Give a routine or template to a client; the routine is copied as it is today."""
    client = load_client(therapist, client_id, "assignment.create")
    if client.archived_at is not None:
        raise Invalid("client", "This client is archived; restore them before assigning.")
    routine = routines.load_routine(therapist, data["routine_id"])
    start = data.get("start_date") or local_today(client.timezone, now or utcnow())
    end = data.get("end_date")
    if end is not None and end < start:
        raise Invalid("end_date", "The end date must be on or after the start date.")
    assignment = Assignment(
        client_id=client.id,
        routine_id=routine.id,
        title=data.get("title") or routine.name,
        routine=routines.snapshot(routine),
        estimated_minutes=routines.routine_minutes(routine),
        start_date=start,
        end_date=end,
        note=data.get("note", ""),
        status="active",
        pauses=[],
    )
    schedule = {k: data[k] for k in ("weekdays", "times_per_week") if k in data}
    if not schedule:
        schedule = {"times_per_week": routine.frequency_per_week or DEFAULT_TIMES_PER_WEEK}
    _apply_schedule(assignment, schedule)
    db.session.add(assignment)
    # In the same transaction (outbox): the phone hears of it exactly when it exists.
    outbox.enqueue(
        client.id, "new_routine", title=f"New routine from {therapist.name}",
        body=f"{assignment.title}, about {assignment.estimated_minutes} minutes.",
        now=now or utcnow(), timezone=client.timezone,
    )  # fmt: skip
    db.session.commit()
    return assignment


def update_assignment(
    therapist: Therapist, assignment_id: int, data: dict, now: datetime | None = None
) -> Assignment:
    """Pause, resume or end an assignment, or edit its schedule, dates, title or note."""
    assignment = load_assignment(therapist, assignment_id)
    client = db.session.get(Client, assignment.client_id)
    audit.record(therapist, client.id, "assignment.update")
    today = local_today(client.timezone, now or utcnow())
    action = data.get("action")
    if assignment.status == "ended" and data != {"action": "end"}:
        raise Conflict("This assignment has ended; assign the routine again instead.")
    _apply_schedule(assignment, data)
    for field in ("title", "note"):
        if field in data:
            setattr(assignment, field, data[field])
    if "end_date" in data:
        if data["end_date"] is not None and data["end_date"] < assignment.start_date:
            raise Invalid("end_date", "The end date must be on or after the start date.")
        assignment.end_date = data["end_date"]
    if action == "pause" and assignment.status == "active":
        assignment.status = "paused"
        assignment.pauses = [*assignment.pauses, {"from": today.isoformat(), "to": None}]
    elif action == "resume" and assignment.status == "paused":
        assignment.status = "active"
        *closed, last = assignment.pauses
        assignment.pauses = [*closed, {"from": last["from"], "to": today.isoformat()}]
    elif action == "end" and assignment.status != "ended":
        if assignment.status == "paused":
            *closed, last = assignment.pauses
            assignment.pauses = [*closed, {"from": last["from"], "to": today.isoformat()}]
        assignment.status = "ended"
        assignment.ended_on = today
    db.session.commit()
    return assignment


@dataclass(frozen=True)
class TodayItem:
    assignment: Assignment  # or a row with the same columns
    due: bool
    done_today: bool
    done_this_week: int


@dataclass(frozen=True)
class Today:
    date: date
    timezone: str
    items: list[TodayItem]


# /api/today runs every time a client opens the app: its statements are built once, and it
# reads plain rows rather than ORM objects.
_CURRENT_ASSIGNMENTS = (
    select(*Assignment.__table__.columns)
    .where(
        Assignment.client_id == bindparam("client_id"),
        Assignment.status != "ended",
        Assignment.start_date <= bindparam("today"),
    )
    .order_by(Assignment.created_at, Assignment.id)
)
_DAYS_DONE_SINCE = select(SessionLog.assignment_id, SessionLog.local_date).where(
    SessionLog.client_id == bindparam("client_id"),
    SessionLog.local_date >= bindparam("since"),
)


def today_for_client(client: Client, now: datetime | None = None) -> Today:
    """The client's current assignments for their local today: due, done, and this week's count."""
    today = local_today(client.timezone, now or utcnow())
    plans = {
        a.id: (a, plan_of(a))
        for a in db.session.execute(_CURRENT_ASSIGNMENTS, {"client_id": client.id, "today": today})
    }
    current = [a for a, plan in plans.values() if plan.last_day is None or plan.last_day >= today]
    monday = week_start(today)
    done: dict[int, set[date]] = {a.id: set() for a in current}
    if current:
        rows = db.session.execute(_DAYS_DONE_SINCE, {"client_id": client.id, "since": monday})
        for assignment_id, day in rows:
            if assignment_id in done:
                done[assignment_id].add(day)
    items = [
        TodayItem(
            assignment=a,
            due=is_due(plans[a.id][1], today, done[a.id]),
            done_today=today in done[a.id],
            done_this_week=sum(1 for d in done[a.id] if d <= today),
        )
        for a in current
    ]
    return Today(date=today, timezone=client.timezone, items=items)
