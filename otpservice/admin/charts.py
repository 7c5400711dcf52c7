"""Charts drawn on the server as inline SVG: no script, no asset from anywhere."""

from collections.abc import Sequence

from markupsafe import Markup, escape

from otpservice.db.reports import CountryRow, ProviderRow

COUNTRY_SERIES = (("started", "#8da0cb"), ("sent", "#66c2a5"), ("approved", "#1b7837"))
OUTCOME_SERIES = (("sent", "#8da0cb"), ("delivered", "#1b7837"), ("undelivered", "#fdae61"), ("failed", "#d73027"))
WIDTH, LABEL, BAR, GAP = 640, 90, 10, 14
MAX_COUNTRIES = 12


def _legend(series: Sequence[tuple[str, str]], y: int) -> str:
    parts = []
    for index, (name, color) in enumerate(series):
        x = LABEL + index * 120
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{color}"/><text x="{x + 14}" y="{y + 9}">{name}</text>'
        )
    return "".join(parts)


def _svg(height: int, title: str, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def country_chart(rows: Sequence[CountryRow]) -> Markup:
    """Per country: started, sent and approved as three bars on one scale."""
    shown = list(rows[:MAX_COUNTRIES])
    if not shown:
        return Markup('<p class="empty">No verifications in this period.</p>')
    scale = (WIDTH - LABEL - 60) / max(1, max(row.started for row in shown))
    group = BAR * len(COUNTRY_SERIES) + GAP
    parts = [_legend(COUNTRY_SERIES, 0)]
    for index, row in enumerate(shown):
        top = 20 + index * group
        parts.append(f'<text x="0" y="{top + BAR * 2}">{escape(row.country or "unknown")}</text>')
        for offset, (name, color) in enumerate(COUNTRY_SERIES):
            value = getattr(row, name)
            y = top + offset * BAR
            parts.append(
                f'<rect class="bar-{name}" x="{LABEL}" y="{y}" width="{value * scale:.1f}" '
                f'height="{BAR - 1}" fill="{color}"><title>{name}: {value}</title></rect>'
                f'<text x="{LABEL + value * scale + 4:.1f}" y="{y + BAR - 1}">{value}</text>'
            )
    return _svg(20 + len(shown) * group, "Verifications per country", "".join(parts))


def outcome_chart(rows: Sequence[ProviderRow]) -> Markup:
    """Per provider: one bar split into sent, delivered, undelivered and failed."""
    if not rows:
        return Markup('<p class="empty">No messages in this period.</p>')
    totals = [sum(row.count(name) for name, _ in OUTCOME_SERIES) for row in rows]
    scale = (WIDTH - LABEL - 60) / max(1, max(totals))
    parts = [_legend(OUTCOME_SERIES, 0)]
    for index, (row, total) in enumerate(zip(rows, totals, strict=True)):
        y = 20 + index * (BAR * 2 + GAP)
        parts.append(f'<text x="0" y="{y + BAR + 4}">{escape(row.provider)}</text>')
        x = float(LABEL)
        for name, color in OUTCOME_SERIES:
            width = row.count(name) * scale
            if width:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR * 2}" '
                    f'fill="{color}"><title>{name}: {row.count(name)}</title></rect>'
                )
            x += width
        parts.append(f'<text x="{x + 4:.1f}" y="{y + BAR + 4}">{total}</text>')
    return _svg(20 + len(rows) * (BAR * 2 + GAP), "Message outcomes per provider", "".join(parts))
