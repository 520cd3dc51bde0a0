//! The trend of one analyte as an SVG picture, drawn on the server so the
//! page needs no JavaScript: a pure function from points to markup. Every
//! text is escaped here; the caller passes labels already localized.

use crate::svg_text::escape;
use std::fmt::Write;

/// One value of the analyte.
pub struct ChartPoint {
    /// Position on the time axis (Unix milliseconds).
    pub at: i64,
    pub value: f64,
    /// The date as the reader reads it (already localized).
    pub date_label: String,
    /// The value as the reader reads it (already localized).
    pub value_label: String,
    pub position: RangePosition,
}

/// Where a value lies relative to the reference range; drawn as a shape,
/// so that the mark does not depend on colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangePosition {
    Within,
    Above,
    Below,
}

impl RangePosition {
    pub fn of(value: f64, low: Option<f64>, high: Option<f64>) -> Self {
        match (low, high) {
            (_, Some(h)) if value > h => Self::Above,
            (Some(l), _) if value < l => Self::Below,
            _ => Self::Within,
        }
    }
}

/// What the chart shows, texts included.
pub struct Chart<'a> {
    /// Unique within the page, for `aria-labelledby`.
    pub id: &'a str,
    /// The accessible name, e.g. "HbA1c (%), 5 values".
    pub title: &'a str,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub points: &'a [ChartPoint],
    /// Formats an axis value for the reader (decimal comma in German).
    pub format_value: &'a dyn Fn(f64) -> String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;
const Y_TICKS: usize = 4;

/// The value range the plot spans: all values and the reference bounds,
/// with a margin, never empty.
fn value_span(chart: &Chart<'_>) -> (f64, f64) {
    let values = chart
        .points
        .iter()
        .map(|p| p.value)
        .chain(chart.low)
        .chain(chart.high)
        .filter(|v| v.is_finite());
    let (min, max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !min.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if max > min {
        (max - min) * 0.1
    } else {
        min.abs().max(1.0) * 0.1
    };
    (min - pad, max + pad)
}

struct Scale {
    t0: i64,
    t1: i64,
    v0: f64,
    v1: f64,
}

impl Scale {
    fn x(&self, at: i64) -> f64 {
        let plot = WIDTH - LEFT - RIGHT;
        if self.t1 == self.t0 {
            return LEFT + plot / 2.0;
        }
        LEFT + plot * (at - self.t0) as f64 / (self.t1 - self.t0) as f64
    }

    fn y(&self, value: f64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        let clamped = value.clamp(self.v0, self.v1);
        TOP + plot * (1.0 - (clamped - self.v0) / (self.v1 - self.v0))
    }
}

/// The chart as a standalone `<svg>` element.
pub fn render(chart: &Chart<'_>) -> String {
    let (v0, v1) = value_span(chart);
    let t0 = chart.points.iter().map(|p| p.at).min().unwrap_or(0);
    let t1 = chart.points.iter().map(|p| p.at).max().unwrap_or(0);
    let scale = Scale { t0, t1, v0, v1 };
    let id = escape(chart.id);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{}</title>"#,
        escape(chart.title)
    );
    reference_band(&mut svg, chart, &scale);
    axes(&mut svg, chart, &scale);
    line(&mut svg, chart, &scale);
    for p in chart.points {
        marker(&mut svg, p, &scale);
    }
    svg.push_str("</svg>");
    svg
}

fn reference_band(svg: &mut String, chart: &Chart<'_>, scale: &Scale) {
    if chart.low.is_none() && chart.high.is_none() {
        return;
    }
    let top = scale.y(chart.high.unwrap_or(scale.v1));
    let bottom = scale.y(chart.low.unwrap_or(scale.v0));
    let _ = write!(
        svg,
        r##"<rect class="reference" x="{LEFT}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="#d9f2e3" stroke="#5aa77a" stroke-dasharray="4 3"/>"##,
        WIDTH - LEFT - RIGHT,
        (bottom - top).max(0.0)
    );
}

fn axes(svg: &mut String, chart: &Chart<'_>, scale: &Scale) {
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        r##"<path class="axis" d="M{LEFT} {TOP}V{base}H{}" fill="none" stroke="#444"/>"##,
        WIDTH - RIGHT
    );
    for i in 0..=Y_TICKS {
        let v = scale.v0 + (scale.v1 - scale.v0) * i as f64 / Y_TICKS as f64;
        let y = scale.y(v);
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="#222">{}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            escape(&(chart.format_value)(v))
        );
    }
    // Dates of the first and the last value, and of the middle one when
    // there are enough values for three labels not to overlap.
    let mut labelled: Vec<&ChartPoint> = chart.points.first().into_iter().collect();
    if chart.points.len() >= 3 {
        labelled.push(&chart.points[chart.points.len() / 2]);
    }
    if chart.points.len() >= 2 {
        labelled.extend(chart.points.last());
    }
    for p in labelled {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#222">{}</text>"##,
            scale.x(p.at),
            base + 20.0,
            escape(&p.date_label)
        );
    }
}

fn line(svg: &mut String, chart: &Chart<'_>, scale: &Scale) {
    if chart.points.len() < 2 {
        return;
    }
    let coordinates: Vec<String> = chart
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", scale.x(p.at), scale.y(p.value)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline class="series" points="{}" fill="none" stroke="#1f5fa8" stroke-width="2"/>"##,
        coordinates.join(" ")
    );
}

/// A circle within the range, a triangle pointing up above it and down
/// below it; each with a tooltip naming date and value.
fn marker(svg: &mut String, p: &ChartPoint, scale: &Scale) {
    let (x, y) = (scale.x(p.at), scale.y(p.value));
    let tip = escape(&format!("{}: {}", p.date_label, p.value_label));
    let _ = match p.position {
        RangePosition::Within => write!(
            svg,
            r##"<circle class="point" cx="{x:.1}" cy="{y:.1}" r="4" fill="#1f5fa8"><title>{tip}</title></circle>"##
        ),
        RangePosition::Above => write!(
            svg,
            r##"<path class="point above" d="M{x:.1} {:.1}L{:.1} {:.1}H{:.1}Z" fill="#b3261e"><title>{tip}</title></path>"##,
            y - 7.0,
            x + 6.0,
            y + 4.0,
            x - 6.0
        ),
        RangePosition::Below => write!(
            svg,
            r##"<path class="point below" d="M{x:.1} {:.1}L{:.1} {:.1}H{:.1}Z" fill="#b3261e"><title>{tip}</title></path>"##,
            y + 7.0,
            x + 6.0,
            y - 4.0,
            x - 6.0
        ),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at: i64, value: f64, low: Option<f64>, high: Option<f64>) -> ChartPoint {
        ChartPoint {
            at,
            value,
            date_label: format!("day {at}"),
            value_label: value.to_string(),
            position: RangePosition::of(value, low, high),
        }
    }

    fn chart<'a>(points: &'a [ChartPoint], title: &'a str) -> Chart<'a> {
        Chart {
            id: "c1",
            title,
            low: Some(4.0),
            high: Some(5.6),
            points,
            format_value: &|v| format!("{v:.1}").replace('.', ","),
        }
    }

    #[test]
    fn accessible_name_and_one_marker_per_value() {
        let points = [
            point(0, 5.0, Some(4.0), Some(5.6)),
            point(10, 6.1, Some(4.0), Some(5.6)),
            point(20, 3.2, Some(4.0), Some(5.6)),
        ];
        let svg = render(&chart(&points, "HbA1c (%)"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(
            svg.contains(r#"aria-labelledby="c1-title"><title id="c1-title">HbA1c (%)</title>"#)
        );
        assert_eq!(svg.matches(r#"class="point"#).count(), 3);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert_eq!(svg.matches(r#"class="point above""#).count(), 1);
        assert_eq!(svg.matches(r#"class="point below""#).count(), 1);
        assert_eq!(svg.matches("<polyline").count(), 1);
    }

    #[test]
    fn reference_range_is_shaded_between_its_bounds() {
        let points = [
            point(0, 5.0, Some(4.0), Some(5.6)),
            point(1, 5.2, Some(4.0), Some(5.6)),
        ];
        let svg = render(&chart(&points, "x"));
        assert_eq!(svg.matches(r#"<rect class="reference""#).count(), 1);
        let mut none = chart(&points, "x");
        none.low = None;
        none.high = None;
        assert!(!render(&none).contains("reference"));
    }

    #[test]
    fn axes_carry_dates_and_localized_values() {
        let points = [
            point(0, 5.0, Some(4.0), Some(5.6)),
            point(5, 5.1, Some(4.0), Some(5.6)),
            point(10, 5.2, Some(4.0), Some(5.6)),
        ];
        let svg = render(&chart(&points, "x"));
        for label in ["day 0", "day 5", "day 10"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        // Axis labels come from the caller's formatter: decimal comma.
        assert!(svg.contains(",") && svg.contains(">3,8</text>"), "{svg}");
    }

    #[test]
    fn text_is_escaped() {
        let mut p = point(0, 5.0, None, None);
        p.date_label = "<script>alert(1)</script>".into();
        let points = [p];
        let svg = render(&chart(&points, "a\"b<c>&'"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("a&quot;b&lt;c&gt;&amp;&#39;"));
    }

    #[test]
    fn one_value_or_equal_values_stay_inside_the_plot() {
        let points = [point(7, 5.0, None, None)];
        let mut c = chart(&points, "x");
        c.low = None;
        c.high = None;
        let svg = render(&c);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(svg.contains(r#"cx="340.0""#), "{svg}");
        let empty = render(&Chart { points: &[], ..c });
        assert!(!empty.contains("NaN") && !empty.contains("<circle"));
    }

    #[test]
    fn position_against_open_ranges() {
        assert_eq!(
            RangePosition::of(210.0, None, Some(200.0)),
            RangePosition::Above
        );
        assert_eq!(
            RangePosition::of(35.0, Some(40.0), None),
            RangePosition::Below
        );
        assert_eq!(
            RangePosition::of(40.0, Some(40.0), None),
            RangePosition::Within
        );
        assert_eq!(RangePosition::of(1.0, None, None), RangePosition::Within);
    }
}
