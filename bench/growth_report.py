"""The growth phase's figures: ratios to the first size, the table and the plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.growth_seed import CHUNK

MEASURES = (
    "list_31d",
    "list_year",
    "detail",
    "tracking",
    "report",
    "report_fixed",
    "post_to_number",
)
LABELS = {
    "list_31d": "staff list, 50 of one office, last 31 days (console default)",
    "list_year": "staff list, 50 of one office, a whole year",
    "detail": "detail by register number",
    "tracking": "public tracking by ticket",
    "report": "service-standard report, one office-month",
    "report_fixed": "service-standard report, the reserved office-month (same complaints at "
    "every size)",
    "post_to_number": "POST → register number via intake",
    "events": "registry events/s",
}

SHORT = {
    "list_31d": "list (31 days)",
    "list_year": "list (a year)",
    "detail": "detail",
    "tracking": "tracking",
    "report": "report",
    "report_fixed": "report (fixed month)",
    "post_to_number": "POST → number",
    "events": "registry",
}


# What bounds the reads that grew, from their profiles (kept in bench/profiles/g-*.txt).
BOUNDS = [
    "What bounds the reads that grew:",
    "",
    "- **detail by register number**: opening the sealed intake asks libmongocrypt for the",
    "  complaint's data key; it asks the key vault `{$or: [{_id: {$in}}, {keyAltNames:",
    "  {$in}}]}`, which DocumentDB answered by reading every key (one a complaint: 40 ms at",
    "  100,000). The vault now asks one indexed branch at a time (`identity_vault.py`",
    "  `_indexed_queries`, 0.5 ms); the detail's other reads are by `_id` or `complaint_id`",
    "  indexes (`test_query_plans.py`).",
    "- **service-standard report**: the ordinary office-month's answer lists every complaint of",
    "  the month, and the month fills as the data grows (the seed spreads the complaints over a",
    "  year), so its time follows its rows, not the database; the reserved office-month (same",
    "  40 complaints at every size) is the read's cost as the database grows. At 829 rows a",
    "  cProfile of 60 answers (`python -m bench.report_growth --profile`) spent ~40 % reading",
    "  whole listing entries, ~20 % in the report's Python per row and ~30 % walking the answer",
    "  to turn datetimes into strings before encoding it",
    "  (`bench/profiles/g-report-before-1.txt`); the report now reads only its five fields,",
    "  1,000 a page, groups rows per office in one pass and encodes datetimes during the JSON",
    "  encoding: 3.48 M → 2.18 M function calls for the same 60 answers",
    "  (`bench/profiles/g-report-after-1.txt`). What remains per row is the store's read of",
    "  the entries and the JSON of the rows the answer must list.",
]

# ---------------------------------------------------------------- ratios and report


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def ratios(points: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each size's figure ÷ the first size's: time per request (p50, p99), and for the rate the
    time per event (first rate ÷ this rate), so ≤ 1.5 reads the same way everywhere."""
    if not points:
        return {}
    base = points[0]
    out: dict[str, dict[str, float | None]] = {}
    for point in points:
        row: dict[str, float | None] = {}
        for key in MEASURES:
            for q in ("p50_ms", "p99_ms"):
                now, then = (_number((p.get(key) or {}).get(q)) for p in (point, base))
                row[f"{key}_{q[:3]}"] = round(now / then, 2) if now and then else None
        # The report answers one row per complaint of the month, so its size grows with the
        # data in that month: its cost per row is what must stay flat.
        per_row = [
            (
                _number((p.get("report") or {}).get("p50_ms")),
                _number((p.get("report") or {}).get("per_answer")),
            )
            for p in (point, base)
        ]
        (now_ms, now_rows), (then_ms, then_rows) = per_row
        row["report_per_row"] = (
            round((now_ms / now_rows) / (then_ms / then_rows), 2)
            if now_ms and now_rows and then_ms and then_rows
            else None
        )
        rate, rate0 = (_number((p.get("events") or {}).get("per_second")) for p in (point, base))
        row["events"] = round(rate0 / rate, 2) if rate and rate0 else None
        out[str(point["size"])] = row
    return out


def summary_line(point: dict[str, Any], base: dict[str, Any]) -> str:
    ratio = ratios([base, point])[str(point["size"])]
    parts = [f"growth {point['stored']:,} stored:"]
    for key in MEASURES:
        p99 = (point.get(key) or {}).get("p99_ms")
        if p99 is not None:
            parts.append(f"{key} p99 {p99} ms (×{ratio.get(key + '_p99')})")
    rate = (point.get("events") or {}).get("per_second")
    parts.append(f"{rate} events/s (time/event ×{ratio.get('events')})")
    return " | ".join(parts)


def _cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("p99_ms") is None:
        return "–"
    statuses = entry.get("statuses") or entry.get("http_statuses") or {}
    other = {k: v for k, v in statuses.items() if k not in ("200", "201")}
    # Only the successful answers are timed; any other answer is named next to the figure.
    refused = "".join(f" ({v} × {k})" for k, v in sorted(other.items()))
    return f"{entry['p50_ms']} / {entry['p99_ms']}{refused}"


def markdown(growth: dict[str, Any]) -> list[str]:
    points = growth.get("points") or []
    if not points:
        return []
    sizes = [p["size"] for p in points]
    last = str(sizes[-1])
    ratio = growth["ratios"].get(last, {})
    head = " | ".join(f"{s:,}" for s in sizes)
    lines = [
        "## Growth: cost as the database grows (g)",
        "",
        f"A private registry grown to {', '.join(f'{s:,}' for s in sizes)} complaints through "
        f"its own write path, {growth['offices']} offices, `received_at` over a year, "
        f"{growth['contact_share']:.0%} with a tracking contact (a ticket). p50 / p99 in ms "
        f"over {growth['requests']} requests one after another; the last column is the figure "
        f"at {sizes[-1]:,} ÷ the one at {sizes[0]:,} (goal ≤ 1.5).",
        "",
        f"| measure | {head} | p50 ratio | p99 ratio |",
        "|---|" + "---|" * (len(sizes) + 2),
    ]
    for key in MEASURES:
        cells = " | ".join(_cell(p.get(key)) for p in points)
        extra = ""
        per = [(p.get(key) or {}).get("per_answer") for p in points]
        if key.startswith("list") or key.startswith("report"):
            what = "items per page" if key.startswith("list") else "complaints in the month"
            extra = f" ({what}: {' → '.join(str(x) for x in per)})"
        lines.append(
            f"| {LABELS[key]}{extra} | {cells} | {_flag(ratio.get(key + '_p50'))} | "
            f"{_flag(ratio.get(key + '_p99'))} |"
        )
    per_row = [
        round(r["p50_ms"] / r["per_answer"], 3) if r.get("per_answer") else "–"
        for r in ((p.get("report") or {}) for p in points)
    ]
    lines.append(
        f"| {LABELS['report']}, p50 per complaint in the answer (its rows grow with the month) | "
        f"{' | '.join(str(x) for x in per_row)} | {_flag(ratio.get('report_per_row'))} | |"
    )
    rates = " | ".join(str((p.get("events") or {}).get("per_second", "–")) for p in points)
    lines.append(
        f"| {LABELS['events']} ({growth['batch']:,} more at once; ratio: time per event) | "
        f"{rates} | {_flag(ratio.get('events'))} | |"
    )
    seeds = ", ".join(
        f"{p['seed']['events']:,} at {p['seed']['per_second']}/s" for p in points if p.get("seed")
    )
    over = [
        f"{SHORT[k]} time per event ×{v}" if k == "events" else f"{SHORT[k[:-4]]} {k[-3:]} ×{v}"
        for k, v in ratio.items()
        if v is not None and v > 1.5 and k != "report_per_row"
    ]
    rows = [(p.get("report") or {}).get("per_answer") for p in points]
    if any((ratio.get(k) or 0) > 1.5 for k in ("report_p50", "report_p99")):
        # Named, not hidden: the ordinary report lists every complaint of its month, and the
        # month fills as the data grows; the fixed month is what the database's growth costs.
        over.append(
            f"the ordinary report's answer grows too ({rows[0]} → {rows[-1]} complaints listed; "
            "the reserved office-month's row is its cost as the database grows)"
        )
    loads = ", ".join(f"{p['size']:,}: {p.get('loadavg', ['?'])[0]}" for p in points)
    lines += [
        "",
        f"Above the goal at {sizes[-1]:,} (ratio > 1.5): "
        + ("; ".join(over) if over else "none")
        + ".",
        "",
        *BOUNDS,
        "",
        f"Seeding (the same write path, events produced in chunks of {CHUNK:,}): {seeds}. "
        f"Load average (1 min) when each size's reads began: {loads}.",
        "",
        "![growth](benchmarks-growth.png)",
        "",
    ]
    return lines


def _flag(value: float | None) -> str:
    if value is None:
        return "–"
    return f"**{value}**" if value > 1.5 else str(value)


def plot(growth: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = growth.get("points") or []
    if not points:
        return
    sizes = [p["size"] for p in points]
    fig, (lat, rate, ratio) = plt.subplots(1, 3, figsize=(18, 5.5))
    for key in MEASURES:
        p99 = [(p.get(key) or {}).get("p99_ms") for p in points]
        p50 = [(p.get(key) or {}).get("p50_ms") for p in points]
        if not any(v is not None for v in p99):
            continue
        (line,) = lat.plot(sizes, p99, marker="o", label=f"{LABELS[key]} p99")
        lat.plot(sizes, p50, marker=".", linestyle="--", color=line.get_color(), alpha=0.6)
        ratios_ = [growth["ratios"][str(s)].get(f"{key}_p99") for s in sizes]
        ratio.plot(sizes, ratios_, marker="o", color=line.get_color(), label=LABELS[key])
    lat.set_title("answer time, p99 (solid) and p50 (dashed); colours as on the right")
    lat.set_ylabel("ms (log)")
    lat.set_yscale("log")
    rates = [(p.get("events") or {}).get("per_second") for p in points]
    rate.plot(sizes, rates, marker="o", color="black")
    rate.set_title(f"registry events/s ({growth['batch']:,} more at once)")
    rate.set_ylabel("events/s")
    rate.set_ylim(bottom=0)
    ratio.plot(
        sizes,
        [growth["ratios"][str(s)].get("events") for s in sizes],
        marker="s",
        color="black",
        label="registry: time per event",
    )
    ratio.axhline(1.5, color="tab:red", linestyle=":", label="goal ≤ 1.5")
    ratio.set_title(f"p99 ÷ p99 at {sizes[0]:,}")
    ratio.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    for axis in (lat, rate, ratio):
        axis.set_xscale("log")
        axis.set_xticks(sizes, [f"{s:,}" for s in sizes])
        axis.minorticks_off()
        axis.set_xlabel("complaints stored (log)")
        axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
