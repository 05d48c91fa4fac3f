"""Every sentence of advice shoetrack shows, in one place.

The remedies come from a trainer's list of why ankles hurt after running,
reworded here as lay suggestions: shoetrack reads the runner's data, it does
not diagnose. Keep each piece short: notifications carry one or two sentences.
"""

from __future__ import annotations

NOT_A_DIAGNOSIS = "These are general suggestions drawn from your own data, not a medical diagnosis."

REPLACE = (
    "A tired midsole no longer cushions or steadies the foot, and the ankle ends up doing that work; "
    "treat a fresh pair as part of looking after yourself, the same as paying for coaching or the gym."
)
PAIRS_FINE = "Your pairs still have life in them; plan a replacement once one nears its limit."
BALL_MASSAGE = (
    "Roll each sole slowly over a tennis or lacrosse ball for a minute or two, before and after "
    "every run: looser foot muscles give the ankle a steadier base and help spare ankles and calves from strains."
)
ANKLE_MOBILITY = (
    "Give the ankles the sideways and circular motion running lacks: with the foot off the floor, "
    "draw 20 circles one way and 20 the other, 2 to 3 rounds per foot, switch feet, then add 1 or 2 more "
    "rounds; or spell out the alphabet in the air with your toes, twice per foot, in capitals or joined-up letters."
)
REST = (
    "Plan a rest day or two: mile after mile without recovery keeps hammering the foot and ankle "
    "and can end in a stress fracture or a strained muscle or tendon."
)
LOW_IMPACT = (
    "Stay fit meanwhile with low-impact work such as air-bike sprints, battle-rope intervals "
    "or kettlebell sessions."
)
BUILD_GRADUALLY = "Bring the distance back up in small steps rather than all at once."
SPECIALIST = (
    "Pain that has not eased after you changed things deserves a professional look: "
    "book a podiatrist, or an orthopaedic or sports-medicine doctor, and do not put it off."
)
OLD_INJURY = (
    "Pain that keeps returning on the same side can come from an old sprain or tendon strain "
    "that never fully settled; having it examined is worthwhile."
)
CANNOT_TELL = "Your run data cannot show this one; the remedy is cheap, so it is worth a try."


def meanwhile(other_pair: str | None) -> str:
    if other_pair:
        return f"Until then, run in {other_pair}."
    return "Until then, keep runs short and easy, on softer ground where you can."


KM_PER_MILE = 1.609344


def amount(km: float, units: str = "km") -> str:
    """A distance as a whole number in the runner's units (km or mi), without the unit."""
    return f"{km / KM_PER_MILE if units == 'mi' else km:.0f}"


def distance(km: float, units: str = "km") -> str:
    """A distance as a whole number with its unit: '12 km', '7 mi'."""
    return f"{amount(km, units)} {units}"


# -- alert messages (one line each: they become notification titles) ----------

def shoe_worn_message(pair: str, distance_km: float, limit_km: float, pct: float, units: str = "km") -> str:
    return f"{pair} is wearing out: {amount(distance_km, units)} of {distance(limit_km, units)} ({pct:.0f} %)"


def shoe_limit_message(pair: str, distance_km: float, limit_km: float, units: str = "km") -> str:
    return f"{pair} is worn out: {amount(distance_km, units)} of {distance(limit_km, units)}"


def shoe_old_message(pair: str, days: int) -> str:
    return f"{pair} has been in service for {days} days"


def streak_message(days: int) -> str:
    return f"{days} days of running in a row"


def no_rest_message(back_to_back: tuple[float, float] | None, units: str = "km") -> str:
    if back_to_back:
        return (f"Long runs on back-to-back days ({distance(back_to_back[0], units)}, "
                f"then {distance(back_to_back[1], units)})")
    return "No full rest day in the last 7 days"


def load_spike_message(week_km: float, last_week_km: float, jump_pct: float | None,
                       acwr: float | None, acwr_limit: float, units: str = "km") -> str:
    if acwr is not None and acwr >= acwr_limit:
        return f"Training load jumped: {distance(week_km, units)} this week, {acwr:.1f}x your 4-week average"
    return (f"Training load jumped: {distance(week_km, units)} this week after {distance(last_week_km, units)} "
            f"(+{jump_pct:.0f} %)")


def pain_persists_message(days: int, step: str) -> str:
    return f"Ankle pain keeps coming back: {days} of the last 7 days at 4/10 or more, despite {step}"


def pain_with_cause_message(cause: str) -> str:
    return f"Ankle pain logged while {cause}"


# -- advice for each alert -----------------------------------------------------

def worn_pair_advice(pair: str, other_pair: str | None, at_limit: bool) -> str:
    first = (f"Consider replacing {pair}: it has run its distance." if at_limit
             else f"Start looking for a replacement for {pair}.")
    return f"{first} {meanwhile(other_pair)}"


def old_pair_advice(pair: str, other_pair: str | None) -> str:
    return (f"Midsole foam ages even on the shelf: check {pair} for creased foam or a worn, tilted sole, "
            f"and consider replacing it. {meanwhile(other_pair)}")


LOAD_ADVICE = f"{REST} {LOW_IMPACT}"
SPIKE_ADVICE = f"Take an easy or rest day; {BUILD_GRADUALLY[0].lower()}{BUILD_GRADUALLY[1:]} {LOW_IMPACT}"

CAUSE_PHRASES = {
    "shoe_limit": "{subject} is past its limit",
    "shoe_worn": "{subject} is wearing out",
    "shoe_old": "{subject} is getting old",
    "load_spike": "your training load has jumped",
    "no_rest": "you have had no full rest day",
    "streak": "you are on a long running streak",
}


def pain_with_cause_advice(kind: str, pair: str | None, other_pair: str | None) -> str:
    if kind in ("shoe_limit", "shoe_worn", "shoe_old"):
        return f"The shoes are the first suspect: {worn_pair_advice(pair, other_pair, True)}"
    if kind == "load_spike":
        return f"The extra load is the likely culprit. {SPIKE_ADVICE}"
    return f"Too little recovery is the likely culprit. {LOAD_ADVICE}"


def pain_without_cause_advice() -> str:
    """For pain while shoes and training load look fine."""
    return f"Your shoes and training load look fine. {BALL_MASSAGE} {ANKLE_MOBILITY}"


def notification_body(advice: str, report: str | None = None) -> str:
    """One or two sentences of advice and the next step (and where the report page is)."""
    sentences = advice.split(". ")
    short = ". ".join(sentences[:2]).rstrip(".") + "."
    where = f", or the report page: {report}" if report else ""
    return f"{short} More: shoetrack why{where}"


# -- how `status` and `why` name things (the CLI and the report page say the same) -----------

CAUSE_TITLES = {
    "worn_shoes": "Worn-out or unsupportive shoes",
    "tight_foot_muscles": "Tight muscles in the feet",
    "ankle_mobility": "Too little ankle mobility",
    "old_injury": "An old injury that has not fully healed",
    "overtraining": "Too much running without rest",
    "persistent_pain": "Pain that persists despite changes",
}


def cause_title(cause: str) -> str:
    return CAUSE_TITLES.get(cause, cause)


def retire_first_line(names: list[str]) -> str:
    return "Retire first: " + ", ".join(names)


def wear_next_line(next_pair: dict[str, str]) -> str:
    return ("Wear next (rotating pairs spreads the load): "
            + "; ".join(f"{kind}: {name}" for kind, name in next_pair.items()))


def arrival_summary(runs: int, other: int, device: str, pairs: list[tuple[str, float]]) -> str:
    """One line for a watch's import: "3 runs from Forerunner 245 · Road A now 78 %"
    ("2 runs and 1 other activity from ...": a ride or a swim wears no shoes)."""
    counted = [f"{n} {word}{'' if n == 1 else plural}" for n, word, plural in
               ((runs, "run", "s"), (other, "other activity" if runs else "activity", "")) if n]
    if other > 1:
        counted[-1] = counted[-1][:-1] + "ies"
    parts = [" and ".join(counted) + f" from {device}"]
    parts += [f"{name} now {pct:.0f} %" for name, pct in pairs]
    return " · ".join(parts)


def arrival_body(pairs: list[tuple[str, float]], unattributed: int, warn_pct: float) -> str:
    """What the line above means for the pairs, worded as a suggestion."""
    worn = [name for name, pct in pairs if pct >= warn_pct]
    lines = []
    if worn:
        lines.append(f"{', '.join(worn)} {'is' if len(worn) == 1 else 'are'} near the end of its life: "
                     "shoetrack why says what to do about it.")
    elif pairs:
        lines.append("Percent of each pair's life used so far.")
    if unattributed:
        lines.append(f"{unattributed} of them in no tracked pair: shoetrack assign gives a run its pair.")
    return " ".join(lines)
