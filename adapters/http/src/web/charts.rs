//! Charts drawn on the server as SVG (no script): bars per province or domain, a progress bar per
//! target, and the monthly line chart with its forecast and required trajectory. Each chart
//! scales to its container (viewBox, width 100%), so it reads at 1280 px and on a phone.

use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};

/// One row of a bar chart.
pub(super) struct Bar {
    pub label: String,
    pub value: u64,
}

const BAR_ROW: f64 = 24.0;
const LABEL_W: f64 = 150.0;
const WIDTH: f64 = 640.0;

/// Horizontal bars, longest first as given; each bar carries its count as text.
pub(super) fn bars(title: &str, rows: &[Bar]) -> Markup {
    let max = rows.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64;
    let height = BAR_ROW * rows.len().max(1) as f64 + 8.0;
    let area = WIDTH - LABEL_W - 50.0;
    html! {
        svg.chart viewBox={"0 0 " (WIDTH) " " (height)} role="img" aria-label=(title) {
            title { (title) }
            @if rows.is_empty() {
                text x="8" y="20" class="muted" { "—" }
            }
            @for (i, b) in rows.iter().enumerate() {
                @let y = 4.0 + BAR_ROW * i as f64;
                @let w = (b.value as f64 / max * area).max(if b.value > 0 { 2.0 } else { 0.0 });
                text x=(LABEL_W - 6.0) y=(y + 15.0) text-anchor="end" class="label" { (b.label) }
                rect x=(LABEL_W) y=(y + 3.0) width=(fmt(w)) height=(BAR_ROW - 8.0) class="bar" {}
                text x=(LABEL_W + w + 5.0) y=(y + 15.0) class="value" { (b.value) }
            }
        }
    }
}

/// A progress bar towards a threshold: filled to value/threshold (capped), green when met.
pub(super) fn progress(title: &str, value: u64, threshold: u64, met: bool) -> Markup {
    let share = if threshold == 0 {
        1.0
    } else {
        (value as f64 / threshold as f64).min(1.0)
    };
    let w = 300.0;
    html! {
        svg.gauge viewBox="0 0 300 28" role="img" aria-label=(title) {
            title { (title) }
            rect x="0" y="4" width=(w) height="20" rx="4" class="track" {}
            rect x="0" y="4" width=(fmt(w * share)) height="20" rx="4" class=(if met { "fill met" } else { "fill" }) {}
            text x="150" y="19" text-anchor="middle" class="gauge-text" {
                (value) " / " (threshold) " (" (format!("{:.0}", share * 100.0)) "%)"
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stroke {
    Solid,
    Dashed,
    Dotted,
}

pub(super) struct Series {
    pub name: String,
    pub class: &'static str,
    pub stroke: Stroke,
    pub points: Vec<(NaiveDate, f64)>,
}

/// A time line chart: x from `from` to `to`, y from 0 to the largest value or `threshold`; a
/// horizontal line at the threshold; a legend under the plot.
pub(super) fn lines(
    title: &str,
    series: &[Series],
    threshold: Option<(f64, &str)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Markup {
    let (w, h, left, right, top, bottom) = (640.0, 260.0, 48.0, 12.0, 12.0, 28.0);
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(threshold.map(|t| t.0))
        .fold(1.0_f64, f64::max);
    let ymax = nice_ceiling(ymax * 1.05);
    let span = (to - from).num_days().max(1) as f64;
    let x = |d: NaiveDate| left + (d - from).num_days() as f64 / span * (w - left - right);
    let y = |v: f64| top + (1.0 - v / ymax) * (h - top - bottom);
    let steps = tick_steps(ymax);
    let ticks: Vec<f64> = (0..=steps)
        .map(|i| ymax * f64::from(i) / f64::from(steps))
        .collect();
    let years: Vec<NaiveDate> = (from.year()..=to.year())
        .filter_map(|yr| NaiveDate::from_ymd_opt(yr, 1, 1))
        .filter(|d| *d >= from && *d <= to)
        .collect();
    let legend_h = 18.0 * (series.len() + usize::from(threshold.is_some())) as f64;
    html! {
        svg.chart viewBox={"0 0 " (w) " " (h + legend_h + 6.0)} role="img" aria-label=(title) {
            title { (title) }
            @for t in &ticks {
                line x1=(left) x2=(w - right) y1=(fmt(y(*t))) y2=(fmt(y(*t))) class="grid" {}
                text x=(left - 4.0) y=(fmt(y(*t) + 4.0)) text-anchor="end" class="axis" { (fmt(*t)) }
            }
            @for d in &years {
                line x1=(fmt(x(*d))) x2=(fmt(x(*d))) y1=(top) y2=(h - bottom) class="grid" {}
                text x=(fmt(x(*d))) y=(h - bottom + 16.0) text-anchor="middle" class="axis" { (d.year()) }
            }
            @if let Some((t, _)) = threshold {
                line x1=(left) x2=(w - right) y1=(fmt(y(t))) y2=(fmt(y(t))) class="threshold" {}
            }
            @for s in series {
                @if !s.points.is_empty() {
                    polyline points=(s.points.iter().map(|(d, v)| format!("{},{}", fmt(x(*d)), fmt(y(*v)))).collect::<Vec<_>>().join(" "))
                        class={"series " (s.class) " " (stroke_class(s.stroke))} {}
                }
            }
            @for (i, s) in series.iter().enumerate() {
                @let ly = h + 6.0 + 18.0 * i as f64;
                line x1=(left) x2=(left + 28.0) y1=(ly + 6.0) y2=(ly + 6.0) class={"series " (s.class) " " (stroke_class(s.stroke))} {}
                text x=(left + 34.0) y=(ly + 10.0) class="label" { (s.name) }
            }
            @if let Some((_, name)) = threshold {
                @let ly = h + 6.0 + 18.0 * series.len() as f64;
                line x1=(left) x2=(left + 28.0) y1=(ly + 6.0) y2=(ly + 6.0) class="threshold" {}
                text x=(left + 34.0) y=(ly + 10.0) class="label" { (name) }
            }
        }
    }
}

fn stroke_class(s: Stroke) -> &'static str {
    match s {
        Stroke::Solid => "solid",
        Stroke::Dashed => "dashed",
        Stroke::Dotted => "dotted",
    }
}

/// Coordinates with one decimal at most (smaller SVG, stable output).
fn fmt(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k at or above `v`, so axis ticks are round numbers.
fn nice_ceiling(v: f64) -> f64 {
    let mag = 10f64.powf(v.max(1.0).log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * mag)
}

/// How many intervals the y axis has so each tick is a round number: 20 → 4 of 5, 25 → 5 of
/// 5, 50 → 5 of 10, 100 → 5 of 20.
fn tick_steps(ymax: f64) -> u32 {
    let mag = 10f64.powf(ymax.max(1.0).log10().floor());
    if (ymax / mag - 2.0).abs() < 1e-9 {
        4
    } else {
        5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round_numbers() {
        assert_eq!(nice_ceiling(21.0), 25.0);
        assert_eq!(nice_ceiling(20.0), 20.0);
        assert_eq!(nice_ceiling(201.0), 250.0);
        assert_eq!(nice_ceiling(420.0), 500.0);
        assert_eq!(nice_ceiling(0.3), 1.0);
        for (max, steps, step) in [
            (20.0, 4, 5.0),
            (25.0, 5, 5.0),
            (250.0, 5, 50.0),
            (500.0, 5, 100.0),
            (10.0, 5, 2.0),
        ] {
            assert_eq!(tick_steps(max), steps, "{max}");
            assert_eq!(max / f64::from(steps), step);
        }
    }

    #[test]
    fn bars_escape_labels_and_scale_to_the_largest() {
        let svg = bars(
            "t",
            &[
                Bar {
                    label: "<广东>".into(),
                    value: 4,
                },
                Bar {
                    label: "江苏".into(),
                    value: 2,
                },
            ],
        )
        .into_string();
        assert!(svg.contains("&lt;广东&gt;"), "{svg}");
        let area = WIDTH - LABEL_W - 50.0;
        assert!(svg.contains(&format!("width=\"{}\"", fmt(area))), "{svg}");
        assert!(
            svg.contains(&format!("width=\"{}\"", fmt(area / 2.0))),
            "{svg}"
        );
    }

    #[test]
    fn a_progress_bar_is_capped_at_the_threshold() {
        let over = progress("t", 25, 20, true).into_string();
        assert!(over.contains("width=\"300\" height=\"20\" rx=\"4\" class=\"fill met\""));
        assert!(over.contains("25 / 20 (100%)"));
        let half = progress("t", 10, 20, false).into_string();
        assert!(half.contains("width=\"150\""), "{half}");
    }
}
