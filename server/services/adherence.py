"""Adherence and pain trends: who keeps up, whose pain is rising, who stopped.

The dashboard computes every client of a therapist with a fixed number of queries (clients,
assignment schedules, the last 28 days of logs, first-week pain), never one query per client,
and reads plain rows rather than ORM objects: it is the one page that touches every client.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select

from server.extensions import db
from server.models import Assignment, Client, SessionLog, Therapist
from server.orm import utcnow
from server.services import audit
from server.services.assignments import plan_of
from server.services.clients import load_client
from server.services.schedule import Plan, current_streak, local_today

PAIN_HIGH = 7
PAIN_RISE = 2
INACTIVE_DAYS = 5
TREND_DAYS = 90
FLAG_ORDER = ("pain_rising", "inactive", "never_started")


@dataclass(frozen=True)
class Window:
    days: int
    done: int
    planned: int

    @property
    def ratio(self) -> float | None:
        """Share of planned sessions done, capped at 1; None when nothing was planned."""
        if self.planned == 0:
            return None
        return round(min(self.done, self.planned) / self.planned, 3)


@dataclass
class ClientAdherence:
    client: object  # a Client, or a row with its id, name and timezone
    today: date
    last_7: Window
    last_28: Window
    last_session_at: datetime | None
    first_week_pain_after: float | None
    latest_week_pain_after: float | None
    active_assignments: int
    flags: list[str] = field(default_factory=list)
    streak: int | None = None
    pain_trend: list[dict] | None = None


@dataclass(frozen=True)
class _Facts:
    """What the queries found about one client, before any rule is applied."""

    plans: dict[int, tuple[str, Plan]]  # assignment id -> (status, plan)
    window_logs: list[tuple[int | None, date, int | None]]  # assignment, local day, pain after
    first_day: date | None
    last_session_at: datetime | None
    first_week_pain_after: float | None


_CLIENT_COLUMNS = (
    Client.id,
    Client.name,
    Client.timezone,
    Client.first_session_on,
    Client.first_week_ends_on,
    Client.last_session_at,
)
_SCHEDULE_COLUMNS = (
    Assignment.id,
    Assignment.client_id,
    Assignment.status,
    Assignment.start_date,
    Assignment.end_date,
    Assignment.ended_on,
    Assignment.weekdays,
    Assignment.times_per_week,
    Assignment.pauses,
)


def _window(plans: dict[int, tuple[str, Plan]], logs, today: date, days: int) -> Window:
    first = today - timedelta(days=days - 1)
    done_days = {(a, d) for a, d, _ in logs if a in plans and first <= d <= today}
    planned = sum(plan.planned(first, today) for _, plan in plans.values())
    return Window(days=days, done=len(done_days), planned=round(planned))


def _average(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _summarise(client: Client, facts: _Facts, today: date) -> ClientAdherence:
    logs = facts.window_logs
    latest_first = today - timedelta(days=6)
    latest_pain = _average([p for _, d, p in logs if p is not None and d >= latest_first])
    active = [
        plan
        for status, plan in facts.plans.values()
        if status == "active" and (plan.last_day is None or plan.last_day >= today)
    ]
    summary = ClientAdherence(
        client=client,
        today=today,
        last_7=_window(facts.plans, logs, today, 7),
        last_28=_window(facts.plans, logs, today, 28),
        last_session_at=facts.last_session_at,
        first_week_pain_after=facts.first_week_pain_after,
        latest_week_pain_after=latest_pain,
        active_assignments=len(active),
    )
    last_day = max((d for _, d, p in logs if p is not None), default=None)
    last_day_pain = max((p for _, d, p in logs if p is not None and d == last_day), default=None)
    first_week_over = facts.first_day is not None and facts.first_day < latest_first
    if (latest_pain is not None and latest_pain >= PAIN_HIGH) or (
        last_day_pain is not None and last_day_pain >= PAIN_HIGH
    ) or (
        first_week_over
        and latest_pain is not None
        and facts.first_week_pain_after is not None
        and latest_pain - facts.first_week_pain_after >= PAIN_RISE
    ):
        summary.flags.append("pain_rising")
    started = [plan for plan in active if plan.start <= today]
    if facts.first_day is None:
        if started:
            summary.flags.append("never_started")
    elif started:
        last_day = local_today(client.timezone, facts.last_session_at)
        # A fresh assignment after a long break restarts the clock.
        since = max([last_day, *(plan.start for plan in started)])
        if (today - since).days >= INACTIVE_DAYS:
            summary.flags.append("inactive")
    return summary


def _gather(clients: list, todays: dict[int, date]) -> dict[int, _Facts]:
    """Everything the rules need about these clients, in three queries whatever their number.

    `clients` are Client rows or objects with id, first_session_on, first_week_ends_on and
    last_session_at (kept current by each session log, so no history is scanned here).
    """
    ids = [c.id for c in clients]
    if not ids:
        return {}
    plans: dict[int, dict[int, tuple[str, Plan]]] = defaultdict(dict)
    for row in db.session.execute(select(*_SCHEDULE_COLUMNS).where(Assignment.client_id.in_(ids))):
        plans[row.client_id][row.id] = (row.status, plan_of(row))

    window_start = min(todays.values()) - timedelta(days=27)
    window_logs: dict[int, list] = defaultdict(list)
    for client_id, assignment_id, day, pain in db.session.execute(
        select(
            SessionLog.client_id,
            SessionLog.assignment_id,
            SessionLog.local_date,
            SessionLog.pain_after,
        ).where(SessionLog.client_id.in_(ids), SessionLog.local_date >= window_start)
    ):
        window_logs[client_id].append((assignment_id, day, pain))

    # Each client's first week is a short range of the (client, day) index.
    first_week = {
        client_id: round(float(average), 1)
        for client_id, average in db.session.execute(
            select(SessionLog.client_id, func.avg(SessionLog.pain_after))
            .join(Client, Client.id == SessionLog.client_id)
            .where(
                Client.id.in_(ids),
                SessionLog.local_date >= Client.first_session_on,
                SessionLog.local_date <= Client.first_week_ends_on,
                SessionLog.pain_after.is_not(None),
            )
            .group_by(SessionLog.client_id)
        )
    }
    return {
        c.id: _Facts(
            plans=plans.get(c.id, {}),
            window_logs=window_logs.get(c.id, []),
            first_day=c.first_session_on,
            last_session_at=c.last_session_at,
            first_week_pain_after=first_week.get(c.id),
        )
        for c in clients
    }


def _attention_order(summary: ClientAdherence):
    flag_rank = min((FLAG_ORDER.index(f) for f in summary.flags), default=len(FLAG_ORDER))
    ratio = summary.last_7.ratio
    return (flag_rank, ratio if ratio is not None else 2.0, summary.client.name.lower(), summary.client.id)


# Therapists reload the dashboard often between appointments, and it touches every client. Each
# process keeps its latest answer per therapist, keyed by a fingerprint of everything it reads
# (the clients, how many sessions each has logged, every assignment change) and by the minute,
# since "today" moves on. Any change to that data changes the fingerprint, so no answer is stale.
_DASHBOARD_CACHE: OrderedDict[int, tuple[tuple, list[ClientAdherence]]] = OrderedDict()
DASHBOARD_CACHE_SIZE = 128


_CLIENTS_FINGERPRINT = select(
    func.count(Client.id), func.sum(Client.session_count), func.max(Client.updated_at)
).where(Client.therapist_id == bindparam("therapist_id"), Client.archived_at.is_(None))
_ASSIGNMENTS_FINGERPRINT = (
    select(func.count(Assignment.id), func.max(Assignment.updated_at))
    .join(Client, Client.id == Assignment.client_id)
    .where(Client.therapist_id == bindparam("therapist_id"))
)


def _dashboard_fingerprint(therapist_id: int, now: datetime) -> tuple:
    params = {"therapist_id": therapist_id}
    clients = db.session.execute(_CLIENTS_FINGERPRINT, params).one()
    plans = db.session.execute(_ASSIGNMENTS_FINGERPRINT, params).one()
    return (*clients, *plans, now.replace(second=0, microsecond=0))


def dashboard(therapist: Therapist, now: datetime | None = None) -> list[ClientAdherence]:
    """All current clients of the therapist, those needing attention first."""
    now = now or utcnow()
    audit.record(therapist, None, "dashboard.read")
    fingerprint = _dashboard_fingerprint(therapist.id, now)
    cached = _DASHBOARD_CACHE.get(therapist.id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    summaries = _compute_dashboard(therapist, now)
    _DASHBOARD_CACHE[therapist.id] = (fingerprint, summaries)
    _DASHBOARD_CACHE.move_to_end(therapist.id)
    while len(_DASHBOARD_CACHE) > DASHBOARD_CACHE_SIZE:
        _DASHBOARD_CACHE.popitem(last=False)
    return summaries


def _compute_dashboard(therapist: Therapist, now: datetime) -> list[ClientAdherence]:
    clients = db.session.execute(
        select(*_CLIENT_COLUMNS).where(
            Client.therapist_id == therapist.id, Client.archived_at.is_(None)
        )
    ).all()
    todays = {c.id: local_today(c.timezone, now) for c in clients}
    facts = _gather(clients, todays)
    summaries = [_summarise(c, facts[c.id], todays[c.id]) for c in clients]
    return sorted(summaries, key=_attention_order)


def client_adherence(therapist: Therapist, client_id: int, now: datetime | None = None) -> ClientAdherence:
    """One client's adherence, streak and the last 90 days of pain, for the client page."""
    client = load_client(therapist, client_id, "adherence.read")
    today = local_today(client.timezone, now or utcnow())
    facts = _gather([client], {client.id: today})[client.id]
    summary = _summarise(client, facts, today)
    done_days = set(
        db.session.scalars(
            select(SessionLog.local_date).where(SessionLog.client_id == client.id).distinct()
        )
    )
    summary.streak = current_streak([plan for _, plan in facts.plans.values()], done_days, today)
    trend_first = today - timedelta(days=TREND_DAYS - 1)
    rows = db.session.execute(
        select(
            SessionLog.local_date,
            func.avg(SessionLog.pain_before),
            func.avg(SessionLog.pain_after),
            func.count(),
        )
        .where(SessionLog.client_id == client.id, SessionLog.local_date >= trend_first)
        .group_by(SessionLog.local_date)
        .order_by(SessionLog.local_date)
    )
    summary.pain_trend = [
        {
            "date": day,
            "pain_before": None if before is None else round(float(before), 1),
            "pain_after": None if after is None else round(float(after), 1),
            "sessions": count,
        }
        for day, before, after, count in rows
    ]
    return summary
