"""When personalization runs: start time, finish-by deadline, step planning, mains power.

Times are local wall-clock "HH:MM" strings (settings.personalization.start_time /
finish_by).  A start time in the past means the same time tomorrow; a finish-by time
before the start means the next morning.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

from desktop.core.jobs import CancelToken, ProgressEvent


def parse_hhmm(text: str) -> dt.time:
    """"HH:MM" (24-hour) -> time.

    Raises:
        ValueError: not a valid time, with a message saying the expected form.
    """
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"'{text}' is not a time: use 24-hour HH:MM, for example 01:00.") from exc


def next_occurrence(at: str, now: dt.datetime) -> dt.datetime:
    """The next local datetime at ``at`` ("HH:MM") strictly after ``now`` (or now, if equal
    to the minute)."""
    t = parse_hhmm(at)
    candidate = now.replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)
    if candidate < now.replace(second=0, microsecond=0):
        candidate += dt.timedelta(days=1)
    return candidate


def deadline_after(start: dt.datetime, finish_by: str) -> dt.datetime:
    """The first ``finish_by`` ("HH:MM") after ``start``."""
    t = parse_hhmm(finish_by)
    end = start.replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)
    if end <= start:
        end += dt.timedelta(days=1)
    return end


def run_times(
    start_time: str, finish_by: str, now: bool = False, budget_minutes: float | None = None,
    clock: dt.datetime | None = None,
) -> tuple[dt.datetime | None, dt.datetime]:
    """When a personalization run starts and must end: the one rule the window and the
    CLI share.

    Args:
        start_time, finish_by: "HH:MM" local times (the settings).
        now: start at once instead of at ``start_time``.
        budget_minutes: end this many minutes after the start instead of at ``finish_by``.
        clock: the current local time (default: now).
    Returns:
        (start, deadline): start None means at once; both local, naive datetimes.
    Raises:
        ValueError: a time is not HH:MM.
    """
    current = clock or dt.datetime.now()
    start = None if now else next_occurrence(start_time, current)
    begin = start or current
    if budget_minutes is not None:
        return start, begin + dt.timedelta(minutes=budget_minutes)
    return start, deadline_after(begin, finish_by)


@dataclass
class Plan:
    """Steps planned to fit a time budget.

    Attributes:
        steps: optimizer steps to run.
        seconds_per_step: measured (or assumed) time per step.
        train_seconds: the part of the budget given to training.
        capped_by: "budget" or "epochs" (the data ran out first).
    """

    steps: int
    seconds_per_step: float
    train_seconds: float
    capped_by: str


def plan_steps(
    budget_s: float,
    seconds_per_step: float,
    reserve_s: float,
    steps_per_epoch: int,
    max_epochs: float,
    min_steps: int = 1,
) -> Plan:
    """How many steps fit: ``(budget - reserve) / seconds_per_step``, at most
    ``max_epochs`` passes over the data, at least ``min_steps``.

    ``reserve_s`` is kept for loading, evaluation and export after training.
    """
    if seconds_per_step <= 0:
        raise ValueError("seconds_per_step must be positive")
    train_s = max(0.0, budget_s - reserve_s)
    by_budget = int(math.floor(train_s / seconds_per_step))
    by_epochs = max(1, int(math.ceil(steps_per_epoch * max_epochs)))
    steps = max(min_steps, min(by_budget, by_epochs))
    return Plan(steps, seconds_per_step, train_s, "epochs" if by_epochs <= by_budget else "budget")


def on_mains_power() -> bool | None:
    """True on mains power, False on battery, None where the OS does not tell (desktops,
    some VMs): psutil.sensors_battery()."""
    try:
        import psutil

        battery = psutil.sensors_battery()
    except (AttributeError, NotImplementedError, OSError, RuntimeError):
        return None
    if battery is None:
        return None
    return bool(battery.power_plugged) if battery.power_plugged is not None else None


def wait_until(
    start: dt.datetime,
    cancel: CancelToken | None = None,
    require_mains: bool = True,
    poll_s: float = 30.0,
    now: type[dt.datetime] | None = None,
) -> Iterator[ProgressEvent]:
    """Yield "waiting" events until ``start`` (local time) and, if ``require_mains``,
    until the computer is on mains power (where the OS tells).  Returns when it is time;
    ends early without error if cancelled."""
    clock = now or dt.datetime
    token = cancel or CancelToken()
    told_battery = False
    while not token.cancelled:
        current = clock.now()
        left = (start - current).total_seconds()
        if left <= 0:
            power = on_mains_power() if require_mains else True
            if power is False:
                if not told_battery:
                    told_battery = True
                    yield ProgressEvent("personalize", "log", "waiting",
                                        message="Waiting for mains power: plug in the computer.")
                token.wait(poll_s)
                continue
            return
        yield ProgressEvent(
            "personalize", "progress", "waiting", 0, None, "s",
            f"Waiting to start at {start:%H:%M}.", {"seconds_left": left, "start": start.isoformat()},
        )
        token.wait(min(poll_s, max(0.1, left)))
