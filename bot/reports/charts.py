"""PNG charts of a report (matplotlib, Agg backend: no display needed, safe in threads of a server).

Each function returns the PNG bytes; :func:`render_charts` returns ``(filename, bytes)`` pairs
that the CLI writes to a folder and chat adapters upload; :func:`chart_titles` gives the charts'
translated titles in the same order (``/stats`` shows them as file titles or photo captions).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from babel.dates import format_skeleton
from matplotlib.figure import Figure

from bot.i18n import Translator
from bot.presenters import CATEGORY_NAMES
from bot.reports.render import bucket_text
from bot.reports.stats import Stats

_DPI = 100


def weekly_volume_title(t: Translator) -> str:
    """Title of :func:`weekly_volume_chart`."""
    return t("Tickets opened per week, by category")


def sla_compliance_title(t: Translator) -> str:
    """Title of :func:`sla_compliance_chart`."""
    return t("SLA compliance per week (%)")


def backlog_age_title(stats: Stats, t: Translator) -> str:
    """Title of :func:`backlog_age_chart`."""
    return t.plural("Backlog by age ({count} open)", "Backlog by age ({count} open)", stats.backlog_total)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def weekly_volume_chart(stats: Stats, t: Translator) -> bytes:
    """Stacked bars: tickets opened per week, by category."""
    weeks = sorted(stats.weekly_volume)
    categories = sorted({c for counts in stats.weekly_volume.values() for c in counts})
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    labels = [format_skeleton("Md", w, locale=t.locale) for w in weeks]
    bottom = [0] * len(weeks)
    for category in categories:
        values = [stats.weekly_volume[w].get(category, 0) for w in weeks]
        axes.bar(labels, values, bottom=bottom, label=t(CATEGORY_NAMES.get(category, category)))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(weekly_volume_title(t))
    axes.set_xlabel(t("Week of"))
    axes.set_ylabel(t("Tickets"))
    if categories:
        axes.legend()
    return _png(figure)


def sla_compliance_chart(stats: Stats, t: Translator) -> bytes:
    """Lines: share of response and resolution due times met, per week of creation (%)."""
    weeks = sorted(stats.weekly_sla)
    labels = [format_skeleton("Md", w, locale=t.locale) for w in weeks]
    figure = Figure(figsize=(8, 4))
    axes = figure.subplots()
    for name, kind in ((t("Response"), "response"), (t("Resolution"), "resolution")):
        shares = [
            (stats.weekly_sla[w].response if kind == "response" else stats.weekly_sla[w].resolution).share
            for w in weeks
        ]
        axes.plot(labels, [float("nan") if s is None else s * 100 for s in shares], marker="o", label=name)
    axes.set_ylim(0, 105)
    axes.set_title(sla_compliance_title(t))
    axes.set_xlabel(t("Week of"))
    axes.set_ylabel("%")
    axes.legend()
    return _png(figure)


def backlog_age_chart(stats: Stats, t: Translator) -> bytes:
    """Bars: open tickets by age at the end of the period."""
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    axes.bar([bucket_text(t, key) for key in stats.backlog], list(stats.backlog.values()), color="tab:orange")
    axes.set_title(backlog_age_title(stats, t))
    axes.set_xlabel(t("Age"))
    axes.set_ylabel(t("Tickets"))
    return _png(figure)


def chart_titles(stats: Stats, t: Translator) -> list[str]:
    """The translated titles of the charts of :func:`render_charts`, in the same order."""
    return [weekly_volume_title(t), sla_compliance_title(t), backlog_age_title(stats, t)]


def render_charts(stats: Stats, t: Translator) -> list[tuple[str, bytes]]:
    """The three charts as ``(filename, png_bytes)`` (titles: :func:`chart_titles`)."""
    label = stats.period.label
    return [
        (f"volume-{label}.png", weekly_volume_chart(stats, t)),
        (f"sla-{label}.png", sla_compliance_chart(stats, t)),
        (f"backlog-{label}.png", backlog_age_chart(stats, t)),
    ]
