//! Prometheus metrics, rendered by hand in the text exposition format: counters and a latency
//! histogram kept in atomics per server instance (a process-global recorder would mix the many
//! servers an integration test process starts), plus gauges computed at scrape time from the
//! stores (projection lag, dead letters, relay lag).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the command-latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
pub struct Metrics {
    pub commands_accepted: AtomicU64,
    pub commands_refused: AtomicU64,
    pub commands_duplicate: AtomicU64,
    pub events_appended: AtomicU64,
    /// Requests answered 429 (review H3).
    pub rate_limited: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe_command(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            &mut out,
            "roster_commands_accepted_total",
            "Commands accepted.",
            &self.commands_accepted,
        );
        counter(
            &mut out,
            "roster_commands_refused_total",
            "Commands refused (nothing appended).",
            &self.commands_refused,
        );
        counter(
            &mut out,
            "roster_commands_duplicate_total",
            "Repeated command ids answered with their first result.",
            &self.commands_duplicate,
        );
        counter(
            &mut out,
            "roster_requests_rate_limited_total",
            "Requests refused with 429 (over a per-address, per-token or failed-authentication budget).",
            &self.rate_limited,
        );
        counter(
            &mut out,
            "roster_events_appended_total",
            "Events appended by this server.",
            &self.events_appended,
        );
        let _ = writeln!(out, "# HELP roster_command_duration_seconds Command latency through the full command path.\n# TYPE roster_command_duration_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "roster_command_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.latency_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "roster_command_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "roster_command_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "roster_command_duration_seconds_count {count}");
        let mut last = "";
        for g in gauges {
            if g.name != last {
                let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
                last = g.name;
            }
            let labels = if g.labels.is_empty() {
                String::new()
            } else {
                format!(
                    "{{{}}}",
                    g.labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            let _ = writeln!(out, "{}{labels} {}", g.name, g.value);
        }
        out
    }
}

pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// The broker transport's relay and consumers as this process sees them: subscribed (raw) and
/// missing (past the grace, what `/ready` acts on and an alert should fire on).
pub(crate) fn consumer_gauges(consumers: &[roster_app::ConsumerStatus]) -> Vec<Gauge> {
    let mut gauges = Vec::new();
    for c in consumers {
        gauges.push(Gauge {
            name: "roster_consumer_subscribed",
            help: "1 while a consumer of the broker transport (or the leading relay) holds its subscription in this process.",
            labels: vec![("consumer", c.consumer.clone())],
            value: f64::from(u8::from(c.subscribed)),
        });
    }
    for c in consumers {
        gauges.push(Gauge {
            name: "roster_consumer_missing",
            help: "1 when a consumer (or the leading relay) has been without its subscription for longer than the grace; /ready answers 503.",
            labels: vec![("consumer", c.consumer.clone())],
            value: f64::from(u8::from(c.missing)),
        });
    }
    if let Some(relay) = consumers.iter().find(|c| c.consumer == "relay") {
        gauges.push(Gauge {
            name: "roster_relay_leader",
            help: "1 while the relay of this process holds the leader lock (0: standby).",
            labels: vec![],
            value: f64::from(u8::from(!relay.standby)),
        });
    }
    gauges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.observe_command(Duration::from_micros(800));
        m.observe_command(Duration::from_millis(30));
        let text = m.render(&[Gauge {
            name: "roster_projection_lag_events",
            help: "x",
            labels: vec![("projection", "roster".into())],
            value: 3.0,
        }]);
        assert!(
            text.contains("roster_command_duration_seconds_bucket{le=\"0.001\"} 1"),
            "{text}"
        );
        assert!(text.contains("roster_command_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("roster_command_duration_seconds_count 2"));
        assert!(text.contains("roster_projection_lag_events{projection=\"roster\"} 3"));
    }
}
