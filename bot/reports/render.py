"""A :class:`~bot.reports.stats.Stats` as chat/terminal text, CSV rows or JSON.

The text goes through the translator (English msgids), so ``/stats`` speaks the team
lead's language; CSV and JSON use stable English keys for spreadsheets and scripts.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from bot.i18n import N_, Translator
from bot.presenters import CATEGORY_NAMES, TYPE_LABELS
from bot.reports.stats import BACKLOG_BUCKETS, Durations, Ratio, SlaCompliance, Stats


def _pct(t: Translator, ratio: Ratio) -> str:
    share = ratio.share
    return "–" if share is None else f"{t.percent(share)} ({ratio.part}/{ratio.whole})"


def _h(t: Translator, value: float | None) -> str:
    return "–" if value is None else t.unit(value, "duration-hour", digits=1)


CHANNEL_NAMES = {"email": N_("e-mail"), "phone": N_("phone")}
"""The channels named in the reader's words (console, Slack and Telegram are names)."""


def _split(t: Translator, values: dict[str, int], names: dict[str, str] | None = None) -> str:
    """``key count · key count``, each key in the reader's words when ``names`` has it."""
    return " · ".join(f"{t(names[key]) if names and key in names else key} {n}" for key, n in values.items()) or "–"


def bucket_text(t: Translator, label: str) -> str:
    """A backlog age bucket in the reader's words: ``< 1 j``, ``1–3 j``, ``> 30 j`` (the key stays ``<1d``)."""
    for key, low, high in BACKLOG_BUCKETS:
        if key == label:
            if low == 0:
                return "< " + t.unit(high, "duration-day")
            if math.isinf(high):
                return "> " + t.unit(low, "duration-day")
            return f"{low:.0f}–" + t.unit(high, "duration-day")
    return label


def _moment(t: Translator, moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    day = format_skeleton("yMMMd", local, locale=t.locale)
    return t("{day} at {time}", day=day, time=format_skeleton("Hm", local, locale=t.locale))


def _durations(t: Translator, label: str, d: Durations) -> str:
    return t.plural(
        "{label}: median {median} · p90 {p90} ({count} ticket)",
        "{label}: median {median} · p90 {p90} ({count} tickets)",
        d.count,
        label=label,
        median=_h(t, d.median_hours),
        p90=_h(t, d.p90_hours),
    )


def render_text(stats: Stats, t: Translator, tz: ZoneInfo) -> str:
    """The report as plain text for chat or the terminal."""
    start = _moment(t, stats.period.start, tz)
    end = _moment(t, stats.period.end, tz)
    as_of = _moment(t, stats.backlog_as_of, tz)
    d = stats.deflection
    lines = [
        t(
            "Service desk statistics {label} ({start} → {end})",
            label=stats.period.label,
            start=start,
            end=end,
        ),
        t("Tickets opened: {total}", total=stats.opened),
        "  " + t("by category: {values}", values=_split(t, stats.by_category, CATEGORY_NAMES)),
        "  " + t("by type: {values}", values=_split(t, stats.by_type, TYPE_LABELS)),
        "  " + t("by priority: {values}", values=_split(t, stats.by_priority)),
        "  " + t("by platform: {values}", values=_split(t, stats.by_platform)),
        "  " + t("by channel: {values}", values=_split(t, stats.by_channel, CHANNEL_NAMES)),
        _durations(t, t("First response (working hours)"), stats.first_response),
        _durations(t, t("Resolution (working hours)"), stats.resolution),
        t(
            "Resolved: {total} · within 8 working hours: {within_8} · within 24: {within_24}",
            total=stats.resolved,
            within_8=_pct(t, stats.within_8h),
            within_24=_pct(t, stats.within_24h),
        ),
        t(
            "SLA compliance: response {response} · resolution {resolution}",
            response=_pct(t, stats.sla.response),
            resolution=_pct(t, stats.sla.resolution),
        ),
        t.plural(
            "Backlog on {date}: {count} open — {buckets}",
            "Backlog on {date}: {count} open — {buckets}",
            stats.backlog_total,
            date=as_of,
            buckets=" · ".join(f"{bucket_text(t, key)} {n}" for key, n in stats.backlog.items()) or "–",
        ),
        t(
            "Self-service: {shown} — confirmed {confirmed} · potential {potential} · none {none} · pending {pending}",
            shown=t.plural("{count} suggestion", "{count} suggestions", d.shown),
            confirmed=_pct(t, Ratio(d.confirmed, d.decided)),
            potential=_pct(t, Ratio(d.potential, d.decided)),
            none=_pct(t, Ratio(d.none, d.decided)),
            pending=d.pending,
        ),
        t("First-contact resolution: {share}", share=_pct(t, stats.first_contact)),
        t("Reopened within 7 days: {share}", share=_pct(t, stats.reopened)),
    ]
    if stats.satisfaction.count and stats.satisfaction.average is not None:
        lines.append(
            t.plural(
                "Satisfaction: {average} / 5 ({count} answer)",
                "Satisfaction: {average} / 5 ({count} answers)",
                stats.satisfaction.count,
                average=t.number(stats.satisfaction.average, 1),
            )
        )
    else:
        lines.append(t("Satisfaction: no answer in this period"))
    if stats.technicians:
        lines.append(t("Load per technician:"))
        lines += [
            "  "
            + t(
                "{name}: {resolved}, {open}",
                name=x.name,
                resolved=t.plural("{count} resolved", "{count} resolved", x.resolved),
                open=t.plural("{count} open", "{count} open", x.open),
            )
            for x in stats.technicians
        ]
    if stats.top_issues:
        lines.append(t("Top recurring issues:"))
        for index, cluster in enumerate(stats.top_issues, start=1):
            numbers = ", ".join(f"#{n}" for n in cluster.tickets[:8]) + (" …" if cluster.count > 8 else "")
            lines.append(f"  {index}. {cluster.title} ×{cluster.count} ({numbers})")
    return "\n".join(lines)


def _ratio_dict(ratio: Ratio) -> dict[str, Any]:
    return {"part": ratio.part, "whole": ratio.whole, "share": ratio.share}


def _sla_dict(sla: SlaCompliance) -> dict[str, Any]:
    return {
        "response": _ratio_dict(sla.response),
        "resolution": _ratio_dict(sla.resolution),
        "response_pending": sla.response_pending,
        "resolution_pending": sla.resolution_pending,
    }


def stats_dict(stats: Stats) -> dict[str, Any]:
    """Every figure as JSON-ready data (datetimes in ISO 8601, UTC)."""
    d = stats.deflection
    return {
        "period": {
            "label": stats.period.label,
            "start": stats.period.start.isoformat(),
            "end": stats.period.end.isoformat(),
        },
        "generated_at": stats.generated_at.isoformat(),
        "opened": stats.opened,
        "by_category": stats.by_category,
        "by_type": stats.by_type,
        "by_priority": stats.by_priority,
        "by_platform": stats.by_platform,
        "by_channel": stats.by_channel,
        "first_response_hours": vars(stats.first_response),
        "resolution_hours": vars(stats.resolution),
        "resolved": stats.resolved,
        "resolved_within_8h": _ratio_dict(stats.within_8h),
        "resolved_within_24h": _ratio_dict(stats.within_24h),
        "sla": _sla_dict(stats.sla),
        "backlog": {
            "as_of": stats.backlog_as_of.isoformat(),
            "total": stats.backlog_total,
            "by_age": stats.backlog,
        },
        "deflection": {
            "shown": d.shown,
            "confirmed": d.confirmed,
            "potential": d.potential,
            "none": d.none,
            "pending": d.pending,
            "confirmed_share": Ratio(d.confirmed, d.decided).share,
            "potential_share": Ratio(d.potential, d.decided).share,
        },
        "first_contact_resolution": _ratio_dict(stats.first_contact),
        "reopened_within_7d": _ratio_dict(stats.reopened),
        "satisfaction": {"count": stats.satisfaction.count, "average": stats.satisfaction.average},
        "technicians": [vars(x) for x in stats.technicians],
        "top_issues": [{"title": c.title, "count": c.count, "tickets": list(c.tickets)} for c in stats.top_issues],
        "weekly_volume": {w.isoformat(): v for w, v in stats.weekly_volume.items()},
        "weekly_sla": {w.isoformat(): _sla_dict(s) for w, s in stats.weekly_sla.items()},
    }


def render_json(stats: Stats) -> str:
    """The report as an indented JSON document."""
    return json.dumps(stats_dict(stats), indent=2, ensure_ascii=False, default=_default)


def _default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, rows)
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _flatten(f"{prefix}.{index}", item, rows)
    else:
        rows.append((prefix, "" if value is None else str(value)))


def render_csv(stats: Stats) -> str:
    """The report as two-column CSV (``metric,value``), one row per figure, dotted metric names."""
    rows: list[tuple[str, str]] = []
    _flatten("", stats_dict(stats), rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("metric", "value"))
    writer.writerows(rows)
    return buffer.getvalue()
