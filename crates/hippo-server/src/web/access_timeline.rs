//! The forensics page's timeline picture: accesses over time, one lane per
//! action kind, as server-side SVG. A pure function of its input, so the
//! picture is tested without a server; every text in it is escaped here
//! because the page embeds the SVG as markup.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::svg_text::escape;
use hippo_core::time_util::UnixMillis;

/// One access on the timeline.
#[derive(Debug, Clone)]
pub struct TimelineEvent {
    pub at: UnixMillis,
    /// The lane it belongs to (the action kind, e.g. `finding_read`).
    pub lane: String,
    /// Whether it was refused (drawn as a hollow mark).
    pub refused: bool,
}

/// The texts around the picture, already in the reader's language.
pub struct TimelineLabels {
    /// The accessible name (`<title>` and `aria-label`).
    pub title: String,
    /// The first and last time of the window, formatted for the reader.
    pub first: String,
    pub last: String,
    /// Shown instead of lanes when there is nothing to draw.
    pub empty: String,
}

const WIDTH: f64 = 760.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 16.0;
const LANE_HEIGHT: f64 = 28.0;
const AXIS: f64 = 34.0;

/// The picture: lanes sorted by name, each access a mark at its time
/// between the first and the last access; counts per lane at the left.
pub fn timeline_svg(events: &[TimelineEvent], labels: &TimelineLabels) -> String {
    let mut lanes: BTreeMap<&str, Vec<&TimelineEvent>> = BTreeMap::new();
    for e in events {
        lanes.entry(e.lane.as_str()).or_default().push(e);
    }
    let height = TOP + LANE_HEIGHT * lanes.len().max(1) as f64 + AXIS;
    let title = escape(&labels.title);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" role=\"img\" \
         aria-labelledby=\"timeline-title\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"{WIDTH}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
         <title id=\"timeline-title\">{title}</title>"
    );
    let (Some(first), Some(last)) = (
        events.iter().map(|e| e.at).min(),
        events.iter().map(|e| e.at).max(),
    ) else {
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"{}\">{}</text></svg>",
            TOP + LANE_HEIGHT / 2.0,
            escape(&labels.empty)
        );
        return svg;
    };
    let span = (last - first).max(1) as f64;
    let plot = WIDTH - LEFT - RIGHT;
    let x_of = |at: UnixMillis| LEFT + plot * (at - first) as f64 / span;
    for (i, (lane, marks)) in lanes.iter().enumerate() {
        let y = TOP + LANE_HEIGHT * i as f64 + LANE_HEIGHT / 2.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} ({})</text>\
             <line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#c9ced6\"/>",
            LEFT - 8.0,
            y + 4.0,
            escape(lane),
            marks.len(),
            WIDTH - RIGHT
        );
        for mark in marks {
            let fill = if mark.refused { "#ffffff" } else { "#1f4e8c" };
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{fill}\" stroke=\"#1f4e8c\" stroke-width=\"2\"/>",
                x_of(mark.at)
            );
        }
    }
    let base = TOP + LANE_HEIGHT * lanes.len() as f64 + 4.0;
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\" stroke=\"#1d2733\"/>\
         <text x=\"{LEFT}\" y=\"{:.1}\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text></svg>",
        WIDTH - RIGHT,
        base + 18.0,
        escape(&labels.first),
        WIDTH - RIGHT,
        base + 18.0,
        escape(&labels.last)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> TimelineLabels {
        TimelineLabels {
            title: "Zugriffe <alle>".into(),
            first: "01.12.2026, 10:00 MEZ".into(),
            last: "02.12.2026, 11:00 MEZ".into(),
            empty: "Keine Zugriffe".into(),
        }
    }

    fn event(at: UnixMillis, lane: &str, refused: bool) -> TimelineEvent {
        TimelineEvent {
            at,
            lane: lane.into(),
            refused,
        }
    }

    #[test]
    fn one_lane_per_action_with_one_mark_per_access() {
        let svg = timeline_svg(
            &[
                event(1_000, "finding_read", false),
                event(2_000, "finding_read", false),
                event(3_000, "patient_list", true),
            ],
            &labels(),
        );
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains(">finding_read (2)</text>"));
        assert!(svg.contains(">patient_list (1)</text>"));
        assert_eq!(
            svg.matches("fill=\"#ffffff\"").count(),
            1,
            "the refused one is hollow"
        );
        // First at the left edge of the plot, last at the right.
        assert!(svg.contains(&format!("cx=\"{LEFT:.1}\"")));
        assert!(svg.contains(&format!("cx=\"{:.1}\"", WIDTH - RIGHT)));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"timeline-title\">Zugriffe &lt;alle&gt;</title>"));
        assert!(svg.contains("01.12.2026, 10:00 MEZ"));
    }

    #[test]
    fn texts_are_escaped() {
        let svg = timeline_svg(
            &[event(1, "<script>alert(\"x\")</script>&", false)],
            &labels(),
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp; (1)"));
        assert_eq!(escape("a'b"), "a&#39;b");
    }

    #[test]
    fn no_accesses_draw_the_empty_notice() {
        let svg = timeline_svg(&[], &labels());
        assert!(svg.contains("Keine Zugriffe"));
        assert!(!svg.contains("<circle"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn a_single_access_does_not_divide_by_zero() {
        let svg = timeline_svg(&[event(5, "login", false)], &labels());
        assert!(svg.contains(&format!("cx=\"{LEFT:.1}\"")));
        assert!(!svg.contains("NaN"));
    }
}
