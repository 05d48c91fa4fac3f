"""Sending the alerts that are due as desktop notifications.

An alert is due once `check` has reported it as new, until a notification
reaches the desktop: a failed attempt leaves it due for the next round, and a
delivered one is never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..core import advice
from ..core.quiet_hours import is_quiet
from .health import due_alerts


@dataclass
class Delivery:
    delivered: list[dict] = field(default_factory=list)
    waiting: int = 0  # due but held back (quiet hours) or not tried after a failure
    error: str | None = None  # why the last attempt failed


def notification_text(alert: dict, report: str | None = None) -> tuple[str, str]:
    """(title, body) of an alert's notification; the body names the report page, if any."""
    return alert["message"], advice.notification_body(alert["advice"], report)


def deliver_due(store, config, notifier, now: datetime, *, report: str | None = None) -> Delivery:
    """Try to deliver every due alert, unless notifications are off or it is quiet time.
    `report`: where the report page is, for the body to name."""
    result = Delivery()
    if not config.get("notify.enabled"):
        return result
    due = due_alerts(store, config, now.date())
    if is_quiet(config.get("notify.quiet_hours"), now.time()):
        result.waiting = len(due)
        return result
    from ..adapters.notify import NotifyError

    for position, (announcement, alert) in enumerate(due):
        if not store.claim_delivery(announcement["id"]):
            continue  # another process is sending it, or just did
        title, body = notification_text(alert, report)
        try:
            notifier.send(title, body)
        except NotifyError as exc:
            # The desktop is not reachable now; the rest would fail the same way.
            store.release_delivery(announcement["id"])
            result.error = str(exc)
            result.waiting = len(due) - position
            break
        except BaseException:
            store.release_delivery(announcement["id"])
            raise
        store.mark_delivered(announcement["id"])
        result.delivered.append(alert)
    return result


def send_test(notifier) -> None:
    """Send one notification to prove the desktop can be reached; raises NotifyError."""
    notifier.send("shoetrack can reach your desktop",
                  "This is a test. Alerts about worn shoes and missing rest days will look like this.")


@dataclass
class Arrival:
    summary: str | None = None  # the line shown: None when there was nothing new to say
    delivered: bool = False
    error: str | None = None


def announce_arrival(store, config, notifier, device: str, labels: list[str], today) -> Arrival:
    """One notification for what a watch's import brought: "3 runs from Forerunner 245 ·
    Road A now 78 %". It is sent when it happens (the runner just plugged the watch in),
    quiet hours or not, and once: the runs themselves are in the history either way."""
    from ..adapters.notify import NotifyError
    from ..core.advice import arrival_body, arrival_summary
    from .places import arrival

    brought = arrival(store, config, labels, today)
    if not brought["runs"] + brought["other"]:
        return Arrival()
    pairs = [(p["name"], p["wear_pct"]) for p in brought["pairs"]]
    summary = arrival_summary(brought["runs"], brought["other"], device, pairs)
    if not config.get("notify.enabled"):
        return Arrival(summary)
    try:
        notifier.send(summary, arrival_body(pairs, brought["unattributed"], config.shoe_warn_pct))
    except NotifyError as exc:
        return Arrival(summary, error=str(exc))
    return Arrival(summary, delivered=True)
