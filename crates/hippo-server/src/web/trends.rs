//! The finding page's trends: the patient's own values of each numeric
//! analyte of the finding, as a chart and as the same data in a table.

use hippo_core::FindingId;
use hippo_core::finding::{Observation, ObservationValue};
use hippo_core::time_util::UnixMillis;
use hippo_store::TrendPoint;

use crate::i18n::Ui;
use crate::trend_chart::{Chart, ChartPoint, RangePosition, render};

/// One analyte's trend as the page shows it.
pub struct TrendView {
    pub code: String,
    pub display: String,
    pub unit: String,
    /// The drawn chart; markup made (and escaped) by `trend_chart`.
    pub svg: String,
    pub rows: Vec<TrendRow>,
}

pub struct TrendRow {
    /// The finding the value belongs to (the patient's own), for a link.
    pub finding_id: String,
    pub at: UnixMillis,
    pub value: String,
    pub facility: String,
    pub outside: bool,
    /// The value of the finding on the page.
    pub current: bool,
}

/// A value as written in the reader's language.
fn localized(ui: &Ui, value: f64) -> String {
    ui.decimal(&ObservationValue::Numeric(value).display())
}

/// Axis values rounded to what the span needs.
fn axis_value(ui: &Ui, value: f64, span: f64) -> String {
    let decimals = if span < 1.0 {
        2
    } else if span < 20.0 {
        1
    } else {
        0
    };
    ui.decimal(&format!("{value:.decimals$}"))
}

/// Trends for the analytes of `observations` (in their order) that have at
/// least two values; `points` are ordered by code and time.
pub fn trend_views(
    ui: &Ui,
    finding: FindingId,
    observations: &[Observation],
    points: &[TrendPoint],
) -> Vec<TrendView> {
    let mut seen = Vec::new();
    let mut views = Vec::new();
    for o in observations {
        if !matches!(o.value, ObservationValue::Numeric(_)) || seen.contains(&o.code) {
            continue;
        }
        seen.push(o.code.clone());
        let series: Vec<&TrendPoint> = points.iter().filter(|p| p.code == o.code).collect();
        if series.len() < 2 {
            continue;
        }
        views.push(trend_view(ui, finding, o, &series, views.len()));
    }
    views
}

fn trend_view(
    ui: &Ui,
    finding: FindingId,
    o: &Observation,
    series: &[&TrendPoint],
    index: usize,
) -> TrendView {
    let unit = o.unit.clone().unwrap_or_default();
    let chart_points: Vec<ChartPoint> = series
        .iter()
        .map(|p| ChartPoint {
            at: p.at,
            value: p.value,
            date_label: ui.date(&p.at),
            value_label: format!("{} {}", localized(ui, p.value), unit),
            position: RangePosition::of(p.value, p.reference_low, p.reference_high),
        })
        .collect();
    let (min, max) = series.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.value), hi.max(p.value))
    });
    let span = (max - min).abs();
    let analyte = format!("{} ({unit})", o.display);
    let title = ui.t2(
        "patient-trend-chart-title",
        ("analyte", &analyte),
        ("count", &series.len()),
    );
    let id = format!("trend-{index}");
    let svg = render(&Chart {
        id: &id,
        title: &title,
        low: o.reference_low,
        high: o.reference_high,
        points: &chart_points,
        format_value: &|v| axis_value(ui, v, span),
    });
    let rows = series
        .iter()
        .zip(&chart_points)
        .map(|(p, c)| TrendRow {
            finding_id: p.finding_id.to_string(),
            at: p.at,
            value: localized(ui, p.value),
            facility: p.facility.clone(),
            outside: c.position != RangePosition::Within,
            current: p.finding_id == finding,
        })
        .collect();
    TrendView {
        code: o.code.clone(),
        display: o.display.clone(),
        unit,
        svg,
        rows,
    }
}
