"""The ledger's outputs: a JSON summary for other services and a self-contained HTML report.

:func:`build_summary` turns incidents into a plain dict (counts by status, category, urgency
and day; response and resolution times; per-group "district" figures; the open incidents
ranked by urgency then age). :func:`render_html` turns that dict into one HTML file whose
charts are inline SVG drawn here — no script, stylesheet, font or image is fetched, so the
file opens offline. Text written to either output is passed through
:func:`triage.privacy.mask_pii` unless ``mask=False``.

District figures (per group):

* hazards reported / resolved — ``hazard`` incidents (隐患排除);
* consultations asked / answered — ``consultation`` incidents answered or resolved (咨询解答);
* help requests / handled — every other incident category, resolved (困难解决).
"""

from __future__ import annotations

import datetime as _dt
import html
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from triage.privacy import mask_pii
from triage.taxonomy import CATEGORIES, CATEGORY_NAMES_ZH, URGENCIES, URGENCY_NAMES_ZH, URGENCY_RANK

from .link import ANSWERED, OPEN, RESOLVED, STATUSES, Incident

__all__ = ["SUMMARY_SCHEMA", "build_summary", "render_html", "RESPONSE_BUCKETS"]

SUMMARY_SCHEMA = "triage.ledger.summary/1"

STATUS_NAMES_ZH = {OPEN: "未响应", ANSWERED: "已响应", RESOLVED: "已解决"}
STATUS_COLORS = {OPEN: "#d9534f", ANSWERED: "#f0ad4e", RESOLVED: "#5cb85c"}
CATEGORY_COLORS = {
    "emergency": "#c0392b",
    "crime": "#8e44ad",
    "fraud": "#d35400",
    "hazard": "#e6b800",
    "traffic": "#2980b9",
    "dispute": "#16a085",
    "lost_found": "#7f8c8d",
    "consultation": "#27ae60",
    "notice": "#95a5a6",
    "chitchat": "#bdc3c7",
}
URGENCY_COLORS = {"critical": "#b71c1c", "high": "#ef6c00", "normal": "#1e88e5", "low": "#9e9e9e"}

#: Buckets of the time-to-first-response histogram: (label, upper bound in minutes).
RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("≤5分", 5),
    ("5–15分", 15),
    ("15–30分", 30),
    ("30–60分", 60),
    ("1–2时", 120),
    ("2–4时", 240),
    ("4–8时", 480),
    ("8–24时", 1440),
    (">24时", float("inf")),
)

_HELP = "help"


def _identity(text: str) -> str:
    return text


def _district_kind(category: str) -> str:
    return category if category in ("hazard", "consultation") else _HELP


def _stats(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "median": None, "p90": None, "mean": None, "max": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {
        "count": len(values),
        "median": round(statistics.median(ordered), 1),
        "p90": round(p90, 1),
        "mean": round(statistics.fmean(ordered), 1),
        "max": round(ordered[-1], 1),
    }


def _fmt_time(t: _dt.datetime | None) -> str | None:
    return t.isoformat(sep=" ") if t is not None else None


def build_summary(
    incidents: Sequence[Incident],
    *,
    as_of: _dt.datetime | None = None,
    mask: bool = True,
    messages: int | None = None,
    groups: Iterable[str] = (),
) -> dict[str, Any]:
    """Counts, times and rankings of the incidents, as a JSON-serialisable dict.

    Parameters
    ----------
    incidents : sequence of Incident
    as_of : datetime, optional
        The moment ages are measured from; defaults to the latest message of any incident
        (so a report of old logs does not age everything to "now").
    mask : bool, default=True
        Mask personal numbers in texts and names.
    messages : int, optional
        Number of stored messages (reported as is).
    groups : iterable of str
        Groups to list even when they have no incident.
    """
    clean: Callable[[str], str] = mask_pii if mask else _identity
    if as_of is None:
        as_of = max((i.last_time for i in incidents), default=None)
    all_groups = sorted(set(groups) | {i.group for i in incidents})

    by_status = Counter(i.status for i in incidents)
    by_category: dict[str, dict[str, Any]] = {}
    for cat in CATEGORIES:
        members = [i for i in incidents if i.category == cat]
        if members or cat not in ("notice", "chitchat"):
            by_category[cat] = {
                "name_zh": CATEGORY_NAMES_ZH[cat],
                "total": len(members),
                **{s: sum(1 for i in members if i.status == s) for s in STATUSES},
            }
    by_urgency = {
        u: {"name_zh": URGENCY_NAMES_ZH[u], "total": sum(1 for i in incidents if i.urgency == u),
            **{s: sum(1 for i in incidents if i.urgency == u and i.status == s) for s in STATUSES}}
        for u in reversed(URGENCIES)
    }
    days: dict[str, Counter] = defaultdict(Counter)
    for i in incidents:
        days[i.first_time.date().isoformat()][i.category] += 1
    if days:
        d0 = min(_dt.date.fromisoformat(d) for d in days)
        d1 = max(_dt.date.fromisoformat(d) for d in days)
        all_days = [(d0 + _dt.timedelta(days=k)).isoformat() for k in range((d1 - d0).days + 1)]
    else:
        all_days = []
    by_day = [{"date": d, "total": sum(days[d].values()), "by_category": dict(days[d])} for d in all_days]

    response = [i.minutes_to_response for i in incidents if i.minutes_to_response is not None]
    resolution = [i.minutes_to_resolution for i in incidents if i.minutes_to_resolution is not None]
    histogram = Counter()
    for v in response:
        for label, bound in RESPONSE_BUCKETS:
            if v <= bound:
                histogram[label] += 1
                break
    response_stats = _stats(response) | {
        "unanswered": sum(1 for i in incidents if i.response is None),
        "histogram": [{"bucket": label, "count": histogram[label]} for label, _ in RESPONSE_BUCKETS],
    }

    group_rows = []
    for g in all_groups:
        members = [i for i in incidents if i.group == g]
        kinds = defaultdict(list)
        for i in members:
            kinds[_district_kind(i.category)].append(i)
        group_rows.append({
            "group": clean(g),
            "incidents": len(members),
            **{s: sum(1 for i in members if i.status == s) for s in STATUSES},
            "critical": sum(1 for i in members if i.urgency == "critical"),
            "hazards_reported": len(kinds["hazard"]),
            "hazards_resolved": sum(1 for i in kinds["hazard"] if i.status == RESOLVED),
            "consultations": len(kinds["consultation"]),
            "consultations_answered": sum(1 for i in kinds["consultation"] if i.status != OPEN),
            "help_requests": len(kinds[_HELP]),
            "help_requests_handled": sum(1 for i in kinds[_HELP] if i.status == RESOLVED),
            "median_response_minutes": _stats([i.minutes_to_response for i in members if i.minutes_to_response is not None])["median"],
            "median_resolution_minutes": _stats([i.minutes_to_resolution for i in members if i.minutes_to_resolution is not None])["median"],
        })

    def brief(i: Incident) -> dict[str, Any]:
        age = round((as_of - i.first_time).total_seconds() / 3600.0, 1) if as_of else None
        return {
            "id": i.id,
            "group": clean(i.group),
            "category": i.category,
            "category_zh": CATEGORY_NAMES_ZH.get(i.category, i.category),
            "urgency": i.urgency,
            "urgency_zh": URGENCY_NAMES_ZH.get(i.urgency, i.urgency),
            "status": i.status,
            "first_time": _fmt_time(i.first_time),
            "last_time": _fmt_time(i.last_time),
            "age_hours": age,
            "first_text": clean(i.first.text),
            "reporters": [clean(r) for r in i.reporters],
            "n_messages": len(i.messages),
            "response_time": _fmt_time(i.response.time) if i.response else None,
            "response_by": clean(i.response.sender) if i.response else None,
            "resolution_time": _fmt_time(i.resolution.time) if i.resolution else None,
            "resolution_text": clean(i.resolution.text) if i.resolution else None,
            "minutes_to_response": i.minutes_to_response,
            "minutes_to_resolution": i.minutes_to_resolution,
            "reopened": i.reopened,
        }

    unresolved = [i for i in incidents if i.status != RESOLVED]
    unresolved.sort(key=lambda i: (-URGENCY_RANK.get(i.urgency, 0), i.first_time))
    period = (
        {"first": _fmt_time(min(i.first_time for i in incidents)), "last": _fmt_time(max(i.last_time for i in incidents))}
        if incidents else {"first": None, "last": None}
    )
    return {
        "schema": SUMMARY_SCHEMA,
        "generated_at": _dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "as_of": _fmt_time(as_of),
        "masked": mask,
        "period": period,
        "messages": messages,
        "totals": {"incidents": len(incidents), **{s: by_status.get(s, 0) for s in STATUSES},
                   "unresolved": len(unresolved)},
        "by_category": by_category,
        "by_urgency": by_urgency,
        "by_day": by_day,
        "response_minutes": response_stats,
        "resolution_minutes": _stats(resolution),
        "groups": group_rows,
        "open_incidents": [brief(i) for i in unresolved],
        "incidents": [brief(i) for i in sorted(incidents, key=lambda i: (i.first_time, i.id))],
    }


# --------------------------------------------------------------------------- SVG charts

_FONT = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(value: float) -> int:
    if value <= 5:
        return 5
    for step in (10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 5000, 10000):
        if value <= step:
            return step
    return int(value) + 1


def _svg_open(name: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{_e(name)}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="12">',
        f"<title>{_e(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _empty(name: str, title: str, width: int = 560, height: int = 120) -> str:
    parts = _svg_open(name, title, width, height)
    parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">无数据 (no data)</text></svg>')
    return "".join(parts)


def _legend(items: Sequence[tuple[str, str]], x: float, y: float, width: float) -> tuple[list[str], float]:
    out, cx, cy = [], x, y
    for label, color in items:
        w = 18 + 13 * len(label) + 12
        if cx + w > x + width:
            cx, cy = x, cy + 18
        out.append(f'<rect class="legend" x="{cx:.1f}" y="{cy - 9:.1f}" width="11" height="11" fill="{color}"/>')
        out.append(f'<text x="{cx + 15:.1f}" y="{cy:.1f}" fill="#333">{_e(label)}</text>')
        cx += w
    return out, cy + 14


def svg_stacked_columns(
    name: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]],
    *, width: int = 760, height: int = 300, y_label: str = "",
) -> str:
    """Vertical stacked bars: ``series`` is (name, colour, one value per label)."""
    totals = [sum(s[2][k] for s in series) for k in range(len(labels))]
    if not labels or not any(totals):
        return _empty(name, title, width)
    legend, legend_bottom = _legend([(s[0], s[1]) for s in series if any(s[2])], 50, 16, width - 60)
    top, left, right, bottom = legend_bottom + 6, 46, 12, 46
    plot_h, plot_w = height - top - bottom, width - left - right
    vmax = _nice_max(max(totals))
    parts = _svg_open(name, title, width, height) + legend
    for k in range(6):
        v = vmax * k / 5
        y = top + plot_h - plot_h * k / 5
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{v:g}</text>')
    slot = plot_w / len(labels)
    bar_w = max(2.0, min(48.0, slot * 0.7))
    every = max(1, int(len(labels) / max(1, plot_w // 70)))
    for k, label in enumerate(labels):
        x = left + slot * k + (slot - bar_w) / 2
        y = top + plot_h
        for sname, color, values in series:
            v = values[k]
            if v <= 0:
                continue
            h = plot_h * v / vmax
            y -= h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{color}"><title>{_e(label)} {_e(sname)}: {v:g}</title></rect>')
        if totals[k]:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" fill="#333">{totals[k]:g}</text>')
        if k % every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle" fill="#333">{_e(label)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#888"/>')
    if y_label:
        parts.append(f'<text x="12" y="{top + plot_h / 2:.1f}" transform="rotate(-90 12 {top + plot_h / 2:.1f})" '
                     f'text-anchor="middle" fill="#555">{_e(y_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_stacked_rows(
    name: str, title: str, rows: Sequence[tuple[str, Sequence[tuple[str, str, float]]]],
    *, width: int = 560, row_h: int = 26, label_w: int = 92,
) -> str:
    """Horizontal stacked bars: ``rows`` is (label, [(series name, colour, value), ...])."""
    totals = [sum(v for _, _, v in segs) for _, segs in rows]
    if not rows or not any(totals):
        return _empty(name, title, width)
    seen: dict[str, str] = {}
    for _, segs in rows:
        for sname, color, v in segs:
            if v > 0:
                seen.setdefault(sname, color)
    legend, legend_bottom = _legend(list(seen.items()), label_w, 16, width - label_w - 10)
    top = legend_bottom + 4
    height = int(top + row_h * len(rows) + 10)
    plot_w = width - label_w - 50
    vmax = max(totals)
    parts = _svg_open(name, title, width, height) + legend
    for r, (label, segs) in enumerate(rows):
        y = top + r * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + row_h * 0.62:.1f}" text-anchor="end" fill="#333">{_e(label)}</text>')
        x = float(label_w)
        for sname, color, v in segs:
            if v <= 0:
                continue
            w = plot_w * v / vmax
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y + 4:.1f}" width="{w:.1f}" height="{row_h - 8}" '
                         f'fill="{color}"><title>{_e(label)} {_e(sname)}: {v:g}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 5:.1f}" y="{y + row_h * 0.62:.1f}" fill="#333">{totals[r]:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif;
margin:0;background:#f4f6f8;color:#222}
header{background:#1f3a5f;color:#fff;padding:18px 28px}
header h1{margin:0 0 6px;font-size:22px}
header p{margin:2px 0;font-size:13px;opacity:.9}
main{padding:18px 28px;max-width:1240px}
section{background:#fff;border-radius:6px;padding:14px 18px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 10px;color:#1f3a5f}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 140px;background:#fff;border-radius:6px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .v{font-size:26px;font-weight:bold}
.card .l{font-size:12px;color:#666}
.grid{display:flex;flex-wrap:wrap;gap:18px}
.grid section{flex:1 1 520px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.u-critical{color:#fff;background:#b71c1c}.u-high{color:#fff;background:#ef6c00}
.u-normal{color:#fff;background:#1e88e5}.u-low{color:#fff;background:#9e9e9e}
.tag{display:inline-block;padding:1px 6px;border-radius:3px;font-size:12px}
.s-open{color:#b52b27}.s-answered{color:#b26b00}.s-resolved{color:#2d7a2d}
.note{font-size:12px;color:#555;line-height:1.6}
details{margin:4px 0}
svg.chart{max-width:100%;height:auto;display:block}
table.open td:nth-child(-n+5){white-space:nowrap}
"""


def _minutes_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.0f} 分钟"
    if value < 48 * 60:
        return f"{value / 60:.1f} 小时"
    return f"{value / 1440:.1f} 天"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (), css: str = "") -> str:
    num = set(numeric)
    out = [f'<table class="{css}"><thead><tr>' if css else "<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in headers), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td class="n">{cell}</td>' if k in num else f"<td>{cell}</td>" for k, cell in enumerate(row)
        ) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _urgency_tag(u: str) -> str:
    return f'<span class="tag u-{_e(u)}">{_e(URGENCY_NAMES_ZH.get(u, u))}</span>'


def _status_tag(s: str) -> str:
    return f'<span class="s-{_e(s)}">{_e(STATUS_NAMES_ZH.get(s, s))}</span>'


def render_html(summary: Mapping[str, Any], *, title: str = "警民联系群事件台账", max_listed: int = 500) -> str:
    """The HTML report of a :func:`build_summary` dict (one self-contained file)."""
    s = summary
    totals = s["totals"]
    cats = [c for c in s["by_category"] if s["by_category"][c]["total"] or c not in ("notice", "chitchat")]
    days = s["by_day"]
    day_labels = [d["date"][5:] for d in days]
    day_chart = svg_stacked_columns(
        "by_day", "每日新增事件（按类别）",
        day_labels,
        [(CATEGORY_NAMES_ZH[c], CATEGORY_COLORS[c], [d["by_category"].get(c, 0) for d in days]) for c in cats],
        y_label="事件数",
    )
    cat_chart = svg_stacked_rows(
        "by_category", "各类别事件及处理状态",
        [(s["by_category"][c]["name_zh"],
          [(STATUS_NAMES_ZH[st], STATUS_COLORS[st], s["by_category"][c][st]) for st in (RESOLVED, ANSWERED, OPEN)])
         for c in cats],
    )
    urg_chart = svg_stacked_rows(
        "by_urgency", "紧急程度构成",
        [(v["name_zh"], [(STATUS_NAMES_ZH[st], STATUS_COLORS[st], v[st]) for st in (RESOLVED, ANSWERED, OPEN)])
         for v in s["by_urgency"].values()],
    )
    hist = s["response_minutes"]["histogram"]
    resp_chart = svg_stacked_columns(
        "response_time", "首次响应时间分布",
        [h["bucket"] for h in hist] + ["未响应"],
        [("已响应", "#1e88e5", [h["count"] for h in hist] + [0]),
         ("未响应", "#d9534f", [0] * len(hist) + [s["response_minutes"]["unanswered"]])],
        width=640, height=280, y_label="事件数",
    )

    rm, sm = s["response_minutes"], s["resolution_minutes"]
    open_critical = sum(1 for i in s["open_incidents"] if i["urgency"] in ("critical", "high"))
    cards = [
        ("事件总数", totals["incidents"]),
        ("未响应", totals["open"]),
        ("已响应未解决", totals["answered"]),
        ("已解决", totals["resolved"]),
        ("未结紧急/高", open_critical),
        ("首次响应中位数", _minutes_text(rm["median"])),
        ("解决用时中位数", _minutes_text(sm["median"])),
    ]

    group_rows = [
        (_e(g["group"] or "（未命名群）"), g["incidents"], g["hazards_reported"], g["hazards_resolved"],
         g["consultations"], g["consultations_answered"], g["help_requests"], g["help_requests_handled"],
         g["open"] + g["answered"], g["critical"], _minutes_text(g["median_response_minutes"]))
        for g in s["groups"]
    ]
    open_rows = [
        (_urgency_tag(i["urgency"]), _e(i["category_zh"]), _status_tag(i["status"]), _e(i["first_time"]),
         _e(_minutes_text(i["age_hours"] * 60 if i["age_hours"] is not None else None)),
         _e(i["group"] or "（未命名群）"), _e(i["first_text"]), _e("、".join(i["reporters"])), _e(i["id"]))
        for i in s["open_incidents"]
    ]
    listed = s["incidents"][-max_listed:]
    all_rows = [
        (_e(i["id"]), _e(i["group"] or "（未命名群）"), _e(i["category_zh"]), _urgency_tag(i["urgency"]),
         _status_tag(i["status"]), _e(i["first_time"]), _e(i["first_text"]),
         _e(_minutes_text(i["minutes_to_response"])), _e(_minutes_text(i["minutes_to_resolution"])),
         _e(i["resolution_text"] or ""))
        for i in listed
    ]
    period = s["period"]
    masked = "已遮蔽手机号、证件号、银行卡号、车牌" if s["masked"] else "未遮蔽个人信息（--no-mask）"

    body = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f"<p>统计区间：{_e(period['first'] or '—')} 至 {_e(period['last'] or '—')}；截至 {_e(s['as_of'] or '—')}；"
        f"生成于 {_e(s['generated_at'])}</p>",
        f"<p>消息 {_e(s['messages'] if s['messages'] is not None else '—')} 条；{_e(masked)}。</p></header><main>",
        '<section><div class="cards">',
        *(f'<div class="card"><div class="v">{_e(v)}</div><div class="l">{_e(label)}</div></div>' for label, v in cards),
        "</div></section>",
        '<section id="district"><h2>各群工作量（隐患排除、咨询解答、困难解决）</h2>',
        _table(["群", "事件", "隐患上报", "隐患已排除", "咨询", "咨询已解答", "求助", "求助已解决", "未结", "紧急",
                "响应中位数"], group_rows, numeric=range(1, 10)),
        "</section>",
        '<div class="grid">',
        f'<section id="chart-by-day"><h2>每日新增事件（按类别）</h2>{day_chart}</section>',
        f'<section id="chart-by-category"><h2>各类别事件及处理状态</h2>{cat_chart}</section>',
        f'<section id="chart-by-urgency"><h2>紧急程度构成</h2>{urg_chart}</section>',
        f'<section id="chart-response"><h2>首次响应时间分布</h2>{resp_chart}'
        f'<p class="note">中位数 {_e(_minutes_text(rm["median"]))}，90% 分位 {_e(_minutes_text(rm["p90"]))}，'
        f'未响应 {_e(rm["unanswered"])} 件。</p></section>',
        "</div>",
        f'<section id="open"><h2>未结事件（{len(open_rows)} 件，按紧急程度、时长排序）</h2>',
        _table(["紧急程度", "类别", "状态", "首次上报", "已过", "群", "内容", "上报人", "编号"], open_rows, css="open")
        if open_rows else "<p>没有未结事件。</p>",
        "</section>",
        f'<section id="all"><details><summary><h2 style="display:inline">全部事件（{len(s["incidents"])} 件'
        + (f"，列出最近 {len(listed)} 件" if len(listed) < len(s["incidents"]) else "") + "）</h2></summary>",
        _table(["编号", "群", "类别", "紧急程度", "状态", "首次上报", "内容", "响应用时", "解决用时", "解决说明"], all_rows),
        "</details></section>",
        '<section><h2>说明</h2><p class="note">事件由程序根据聊天记录自动归并：同一问题的多条上报、引用回复、'
        "“还没人来吗”等追问归为一件；工作人员（警官、民警、辅警、社区、居委、物业等）的第一条相关回复记为首次响应；"
        "工作人员或上报人表示“已处理、修好了、找到了”等记为解决。咨询类事件以工作人员的解答为解决。"
        "自动归并可能出错，请以原始聊天记录为准。类别与紧急程度为模型预测，一件事件取其居民消息中的最高紧急程度。</p></section>",
        "</main></body></html>",
    ]
    return "\n".join(body)
