//! Metrics in the OpenMetrics text format (prometheus-client): counters and a latency histogram
//! per server instance (each `AppState` has its own, so the many servers an integration test
//! process starts do not mix), plus gauges computed at scrape time from the application's
//! status (projection lag, dead letters, stalls, consumers, deadlines). A scrape registers the
//! instance's metrics (shared handles) and that scrape's gauges in one registry and encodes it.

use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge as PromGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of `render`'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the command-latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone)]
pub struct Metrics {
    pub commands_accepted: Counter,
    pub commands_refused: Counter,
    pub commands_duplicate: Counter,
    pub events_appended: Counter,
    /// Requests answered 429 (review H3).
    pub rate_limited: Counter,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            commands_accepted: Counter::default(),
            commands_refused: Counter::default(),
            commands_duplicate: Counter::default(),
            events_appended: Counter::default(),
            rate_limited: Counter::default(),
            latency: Histogram::new(BUCKETS),
        }
    }
}

/// prometheus-client ends every help text with a period itself.
fn help(text: &str) -> &str {
    text.trim_end_matches('.')
}

type Labels = Vec<(&'static str, String)>;
type GaugeFamily = Family<Labels, PromGauge<i64, AtomicI64>>;

impl Metrics {
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn observe_command(&self, took: Duration) {
        self.latency.observe(took.as_secs_f64());
    }

    /// The instance's metrics and `gauges`, in the OpenMetrics text format.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut registry = Registry::default();
        for (name, text, counter) in [
            ("roster_commands_accepted", "Commands accepted.", &self.commands_accepted),
            ("roster_commands_refused", "Commands refused (nothing appended).", &self.commands_refused),
            ("roster_commands_duplicate", "Repeated command ids answered with their first result.", &self.commands_duplicate),
            ("roster_requests_rate_limited", "Requests refused with 429 (over a per-address, per-token or failed-authentication budget).", &self.rate_limited),
            ("roster_events_appended", "Events appended by this server.", &self.events_appended),
        ] {
            registry.register(name, help(text), counter.clone());
        }
        registry.register(
            "roster_command_duration_seconds",
            "Command latency through the full command path",
            self.latency.clone(),
        );
        // One family per gauge name, in the order the gauges come.
        let mut families: Vec<(&'static str, GaugeFamily)> = Vec::new();
        for g in gauges {
            if g.labels.is_empty() {
                let gauge = PromGauge::<i64, AtomicI64>::default();
                gauge.set(g.value as i64);
                registry.register(g.name, help(g.help), gauge);
                continue;
            }
            let family = match families.iter().find(|(n, _)| *n == g.name) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = GaugeFamily::default();
                    registry.register(g.name, help(g.help), f.clone());
                    families.push((g.name, f.clone()));
                    f
                }
            };
            family.get_or_create(&g.labels).set(g.value as i64);
        }
        let mut out = String::new();
        encode(&mut out, &registry).expect("writing to a String does not fail");
        out
    }
}

/// A value read at scrape time (all of them are counts or 0/1 flags).
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
