//! Time: the injected clock (the only source of "now", so tests control it) and the business
//! day of an instant (Asia/Shanghai, RULES.md §12).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Injected time: the only source of "now" (recorded time), so tests control it.
pub trait Clock: Send + Sync {
    /// The current instant (recorded time, UTC).
    fn now(&self) -> DateTime<Utc>;

    /// Today's business date: the Asia/Shanghai calendar day (UTC+8, no daylight saving).
    fn today(&self) -> NaiveDate {
        business_day(self.now())
    }
}

/// Beijing time (Asia/Shanghai: UTC+8, no daylight saving), the time zone of every business
/// date: the one place it is spelled.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The Asia/Shanghai calendar day of an instant.
pub fn business_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&beijing()).date_naive()
}

/// The operating system's clock, which the `roster` binary injects; tests inject their own.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
