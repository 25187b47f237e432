"""Doses and how long a routine takes."""

from __future__ import annotations

import math
from collections.abc import Iterable

SECONDS_PER_REP = 4
SETUP_SECONDS_PER_ITEM = 15
DOSE_FIELDS = ("sets", "reps", "hold_seconds", "sides", "rest_seconds")


def dose_of(source) -> dict:
    """The five dose fields of a model or a dict, as a dict."""
    if isinstance(source, dict):
        return {name: source.get(name) for name in DOSE_FIELDS}
    return {name: getattr(source, name) for name in DOSE_FIELDS}


def merge_dose(default: dict, override: dict) -> dict:
    """An item's dose: the exercise's default with the item's fields on top.

    Giving reps replaces a default hold and the other way round, so a dose never has both.
    """
    dose = dict(default)
    given = {k: v for k, v in override.items() if k in DOSE_FIELDS and v is not None}
    if "reps" in given:
        dose["hold_seconds"] = None
    if "hold_seconds" in given:
        dose["reps"] = None
    dose.update(given)
    return dose


def item_seconds(dose: dict) -> int:
    bouts = dose["sets"] * dose["sides"]
    work = dose["reps"] * SECONDS_PER_REP if dose["reps"] else dose["hold_seconds"] or 0
    return bouts * work + dose["rest_seconds"] * (bouts - 1) + SETUP_SECONDS_PER_ITEM


def estimated_minutes(doses: Iterable[dict]) -> int:
    """Whole minutes, rounded up: the same figure the routines README documents."""
    total = sum(item_seconds(dose) for dose in doses)
    return max(1, math.ceil(total / 60))
