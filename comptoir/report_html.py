"""``comptoir report --html``: the business report as one self-contained web page.

Everything is in the file: the styles in one ``<style>``, the charts as inline SVG, no
script, no font, no image or request of any kind, so it opens offline, can be mailed to
an accountant, and passes a strict Content-Security-Policy (no ``script-src`` needed).
It is written for a phone first (one column; tables scroll inside their own box) and
widens to two columns on a desktop. Every chart has its figures in a table beside it, for
screen readers and for copying. The template is autoescaped (jinja2): product titles and
customer names cannot inject markup. Visible text is in the shop's language (French or
English, ``LABELS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import jinja2
from babel.numbers import format_decimal

from shop.money import Money
from shop.reports import Report

CHART_WIDTH = 360  # SVG user units: about one unit per CSS pixel on a phone
BAR_HEIGHT = 22

# English text -> French; English is the key, so a missing translation shows English.
LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "Business report": "Rapport d'activité",
        "from {start} to {end}": "du {start} au {end}",
        "the first order": "la première commande",
        "today": "aujourd'hui",
        "Revenue (TTC)": "Chiffre d'affaires (TTC)",
        "Revenue (HT)": "Chiffre d'affaires (HT)",
        "Orders": "Commandes",
        "Average basket": "Panier moyen",
        "Refunds": "Remboursements",
        "Returns": "Retours",
        "of what was charged": "de l'encaissé",
        "of orders": "des commandes",
        "Revenue and orders by month": "Chiffre d'affaires et commandes par mois",
        "Month": "Mois",
        "Charged": "Encaissé",
        "Refunded": "Remboursé",
        "Revenue": "Chiffre d'affaires",
        "Best sellers by quantity": "Meilleures ventes en quantité",
        "Best sellers by revenue": "Meilleures ventes en chiffre d'affaires",
        "Product": "Produit",
        "Units": "Unités",
        "Best customers": "Meilleurs clients",
        "Customer": "Client",
        "Last order": "Dernière commande",
        "Revenue by category": "Chiffre d'affaires par catégorie",
        "Category": "Catégorie",
        "goods, after discounts, before refunds": "marchandises, remises déduites, avant "
        "remboursements",
        "Stock: sell-through and stock-outs": "Stock : taux d'écoulement et ruptures",
        "Sold": "Vendu",
        "Available": "Disponible",
        "Sell-through": "Écoulement",
        "out of stock": "en rupture",
        "Stock-outs": "Ruptures",
        "none": "aucune",
        "No paid order in this period.": "Aucune commande payée sur la période.",
        "How these figures are counted": "Comment ces chiffres sont calculés",
        "DEFINITION": "Chiffre d'affaires : total TTC des commandes payées, moins les "
        "remboursements confirmés, rattaché au mois de la commande (fuseau horaire de la "
        "boutique). HT : moins la TVA de chaque commande, et la part HT de ses "
        "remboursements. Panier moyen : encaissé divisé par le nombre de commandes payées. "
        "Écoulement : unités vendues sur la période (remboursées déduites) divisées par ces "
        "unités plus le disponible actuel, pour les articles suivis en stock.",
        "Chart": "Graphique",
        "Table": "Tableau",
    },
    "en": {
        "DEFINITION": "Revenue: paid orders' totals including VAT, less confirmed refunds, "
        "counted in the month the order was placed (the shop's time zone). HT: less each "
        "order's VAT and the HT share of its refunds. Average basket: charged over the "
        "number of paid orders. Sell-through: units sold in the period (refunds deducted) "
        "over those units plus what is available now, for SKUs whose stock is tracked.",
    },
}


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int  # what the bar's length stands for
    text: str  # the value as shown


@dataclass(frozen=True, slots=True)
class ColumnChart:
    """Vertical bars (months): their geometry in SVG user units, computed here."""

    width: int
    height: int
    columns: tuple[tuple[float, float, float, str, str], ...]  # x, y, height, label, value
    bar_width: float
    baseline: float


def _column_chart(bars: Sequence[Bar]) -> ColumnChart:
    top, bottom, height = 18.0, 30.0, 200
    plot = height - top - bottom
    largest = max([b.value for b in bars] + [1])
    step = CHART_WIDTH / max(len(bars), 1)
    width = min(step * 0.7, 48)
    columns = []
    for index, bar in enumerate(bars):
        size = plot * max(bar.value, 0) / largest
        x = index * step + (step - width) / 2
        columns.append(
            (round(x, 1), round(top + plot - size, 1), round(size, 1), bar.label, bar.text)
        )
    return ColumnChart(CHART_WIDTH, height, tuple(columns), round(width, 1), top + plot)


def _row_chart(bars: Sequence[Bar]) -> list[tuple[Bar, float]]:
    """Horizontal bars: each bar with its length in percent of the longest."""
    largest = max([b.value for b in bars] + [1])
    return [(bar, round(100 * max(bar.value, 0) / largest, 1)) for bar in bars]


def render_report(report: Report, *, shop_name: str, language: str) -> str:
    """The report as one HTML document (text), in ``language`` ("fr" or "en")."""
    texts = LABELS.get(language, {})
    locale = {"fr": "fr_FR", "en": "en_GB"}.get(language, "en_GB")

    def say(text: str, **values: str) -> str:
        return texts.get(text, text).format(**values)

    def money(value: Money) -> str:
        return value.format(locale)

    def pct(value: Decimal) -> str:
        """17,6 % in French, 17.6 % in English (a no-break space before the sign)."""
        return f"{format_decimal(value, format='0.0', locale=locale)}\u00a0%"

    def months_short(month: str) -> str:
        return month[5:] + "/" + month[2:4]

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(_TEMPLATE)
    start = say("the first order") if report.start is None else report.start.isoformat()
    end = say("today") if report.end is None else report.end.isoformat()
    month_bars = [
        Bar(months_short(m.month), m.revenue.amount, money(m.revenue)) for m in report.months
    ]
    return template.render(
        say=say,
        money=money,
        pct=pct,
        lang=language if language in LABELS else "en",
        shop_name=shop_name,
        period=say("from {start} to {end}", start=start, end=end),
        report=report,
        month_chart=_column_chart(month_bars),
        by_quantity=_row_chart(
            [Bar(p.title, p.quantity, str(p.quantity)) for p in report.best_by_quantity]
        ),
        by_revenue=_row_chart(
            [Bar(p.title, p.revenue.amount, money(p.revenue)) for p in report.best_by_revenue]
        ),
        by_category=_row_chart(
            [Bar(c.category, c.revenue.amount, money(c.revenue)) for c in report.categories]
        ),
        outs=", ".join(s.sku for s in report.stock_outs) or say("none"),
        bar_height=BAR_HEIGHT,
    )


_TEMPLATE = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{ say("Business report") }} — {{ shop_name }}</title>
<style>
:root { color-scheme: light; --ink: #1d2430; --muted: #505a69; --line: #d7dce3;
  --bar: #2f6f9f; --bar2: #3d7d4f; --warn: #9b2c1f; --card: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #fff; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 20px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; }
h2 { font-size: 1.15rem; margin: 0 0 12px; }
.period { color: var(--muted); margin: 0 0 16px; }
.figures { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px;
  list-style: none; padding: 0; margin: 0 0 20px; }
.figures li { background: var(--card); border-radius: 8px; padding: 10px 12px; }
.figures .name { display: block; color: var(--muted); font-size: .85rem; }
.figures .value { display: block; font-size: 1.25rem; font-weight: 700;
  font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.figures .note { display: block; color: var(--muted); font-size: .8rem; }
section { border-top: 1px solid var(--line); padding: 16px 0; min-width: 0; }
.grid { display: grid; grid-template-columns: minmax(0, 1fr); gap: 0 32px; }
svg { display: block; width: 100%; height: auto; max-width: 640px; }
svg text { fill: var(--ink); font-size: 12px; }
.bars { list-style: none; padding: 0; margin: 0 0 12px; }
.bars li { margin: 0 0 8px; }
.bars .label { display: flex; justify-content: space-between; gap: 8px; font-size: .9rem; }
.bars .label span:first-child { overflow-wrap: anywhere; }
.bars .label span:last-child { font-variant-numeric: tabular-nums; white-space: nowrap; }
.bars svg { max-width: none; height: 10px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; color: var(--muted); font-size: .85rem; padding-bottom: 4px; }
th, td { padding: 4px 8px 4px 0; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
tbody th { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.out { color: var(--warn); font-weight: 700; }
details { margin-top: 8px; }
footer { color: var(--muted); font-size: .85rem; padding-bottom: 24px; }
@media (min-width: 900px) {
  .figures { grid-template-columns: repeat(6, minmax(0, 1fr)); }
  .grid { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
@media print { section { break-inside: avoid; } }
</style>
</head>
<body>
<header>
<h1>{{ say("Business report") }} — {{ shop_name }}</h1>
<p class="period">{{ period }}</p>
</header>
<main>
<ul class="figures">
  <li><span class="name">{{ say("Revenue (TTC)") }}</span>
    <span class="value">{{ money(report.revenue) }}</span></li>
  <li><span class="name">{{ say("Revenue (HT)") }}</span>
    <span class="value">{{ money(report.revenue_ht) }}</span></li>
  <li><span class="name">{{ say("Orders") }}</span>
    <span class="value">{{ report.orders }}</span></li>
  <li><span class="name">{{ say("Average basket") }}</span>
    <span class="value">{{ money(report.average_basket) }}</span></li>
  <li><span class="name">{{ say("Refunds") }}</span>
    <span class="value">{{ pct(report.refund_rate) }}</span>
    <span class="note">{{ money(report.refunded) }} {{ say("of what was charged") }}</span></li>
  <li><span class="name">{{ say("Returns") }}</span>
    <span class="value">{{ pct(report.return_rate) }}</span>
    <span class="note">{{ report.returned_orders }} / {{ report.orders }} {{ say("of orders") }}</span></li>
</ul>
{% if not report.orders %}<p>{{ say("No paid order in this period.") }}</p>{% endif %}

<section aria-labelledby="months">
<h2 id="months">{{ say("Revenue and orders by month") }}</h2>
{% if month_chart.columns %}
<svg viewBox="0 0 {{ month_chart.width }} {{ month_chart.height }}" role="img"
  aria-labelledby="months-chart"><title id="months-chart">{{ say("Chart") }}: {{ say("Revenue and orders by month") }}</title>
<line x1="0" x2="{{ month_chart.width }}" y1="{{ month_chart.baseline }}" y2="{{ month_chart.baseline }}" stroke="#8a94a3"/>
{% for x, y, h, label, value in month_chart.columns %}
<rect x="{{ x }}" y="{{ y }}" width="{{ month_chart.bar_width }}" height="{{ h }}" fill="#2f6f9f"/>
<text x="{{ x + month_chart.bar_width / 2 }}" y="{{ month_chart.baseline + 16 }}" text-anchor="middle">{{ label }}</text>
{% endfor %}
</svg>
{% endif %}
<div class="scroll" tabindex="0" role="region" aria-label="{{ say("Table") }}: {{ say("Revenue and orders by month") }}"><table>
<thead><tr><th scope="col">{{ say("Month") }}</th><th scope="col" class="num">{{ say("Orders") }}</th>
<th scope="col" class="num">{{ say("Charged") }}</th><th scope="col" class="num">{{ say("Refunded") }}</th>
<th scope="col" class="num">{{ say("Revenue (TTC)") }}</th><th scope="col" class="num">{{ say("Revenue (HT)") }}</th></tr></thead>
<tbody>{% for m in report.months %}<tr><th scope="row">{{ m.month }}</th><td class="num">{{ m.orders }}</td>
<td class="num">{{ money(m.charged) }}</td><td class="num">{{ money(m.refunded) }}</td>
<td class="num">{{ money(m.revenue) }}</td><td class="num">{{ money(m.revenue_ht) }}</td></tr>{% endfor %}</tbody>
</table></div>
</section>

{% macro bars(rows, id, title, colour) %}
<section aria-labelledby="{{ id }}">
<h2 id="{{ id }}">{{ title }}</h2>
<ol class="bars">
{% for bar, length in rows %}<li><div class="label"><span>{{ bar.label }}</span><span>{{ bar.text }}</span></div>
<svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect x="0" y="0" width="100" height="10" fill="#e6e9ee"/><rect x="0" y="0" width="{{ length }}" height="10" fill="{{ colour }}"/></svg></li>
{% endfor %}
</ol>
{{ caller() }}
</section>
{% endmacro %}

<div class="grid">
{% call bars(by_quantity, "by-quantity", say("Best sellers by quantity"), "#2f6f9f") %}{% endcall %}
{% call bars(by_revenue, "by-revenue", say("Best sellers by revenue"), "#3d7d4f") %}{% endcall %}
{% call bars(by_category, "by-category", say("Revenue by category"), "#6a4c93") %}
<p class="period">{{ say("goods, after discounts, before refunds") }}</p>{% endcall %}

<section aria-labelledby="customers">
<h2 id="customers">{{ say("Best customers") }}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="{{ say("Table") }}: {{ say("Best customers") }}"><table>
<thead><tr><th scope="col">{{ say("Customer") }}</th><th scope="col" class="num">{{ say("Orders") }}</th>
<th scope="col" class="num">{{ say("Revenue") }}</th><th scope="col" class="num">{{ say("Last order") }}</th></tr></thead>
<tbody>{% for c in report.best_customers %}<tr><td>{{ c.name or c.email }}<br><small>{{ c.email }}</small></td>
<td class="num">{{ c.orders }}</td><td class="num">{{ money(c.revenue) }}</td>
<td class="num">{{ c.last_order.strftime("%Y-%m-%d") }}</td></tr>{% endfor %}</tbody>
</table></div>
</section>
</div>

<section aria-labelledby="stock">
<h2 id="stock">{{ say("Stock: sell-through and stock-outs") }}</h2>
<p>{{ say("Stock-outs") }}: <span class="{{ 'out' if report.stock_outs else '' }}">{{ outs }}</span></p>
<div class="scroll" tabindex="0" role="region" aria-label="{{ say("Table") }}: {{ say("Stock: sell-through and stock-outs") }}"><table>
<thead><tr><th scope="col">SKU</th><th scope="col" class="num">{{ say("Sold") }}</th>
<th scope="col" class="num">{{ say("Available") }}</th><th scope="col" class="num">{{ say("Sell-through") }}</th></tr></thead>
<tbody>{% for s in report.stock %}<tr><th scope="row">{{ s.sku }}{% if s.out %} <span class="out">({{ say("out of stock") }})</span>{% endif %}</th>
<td class="num">{{ s.sold }}</td><td class="num">{{ s.available }}</td>
<td class="num">{{ "—" if s.sell_through is none else pct(s.sell_through) }}</td></tr>{% endfor %}</tbody>
</table></div>
</section>
</main>
<footer>
<details><summary>{{ say("How these figures are counted") }}</summary><p>{{ say("DEFINITION") }}</p></details>
</footer>
</body>
</html>
"""  # noqa: E501 (HTML reads better unwrapped)
