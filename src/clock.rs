//! The time, from one source: the store stamps its writes and checks "not
//! in the future" with it, and the window takes its "today" from the
//! store's. Tests set it ([`ManualClock`]) instead of sleeping to order two
//! changes or waiting for midnight.

use chrono::{DateTime, Local, NaiveDate, Utc};
use std::sync::Mutex;

/// Where the time comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date on this computer (local time).
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&Local).date_naive()
    }

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The computer's own clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    /// A clock at `hh:mm:ss` local time on `day`.
    pub fn at_local(day: NaiveDate, hh: u32, mm: u32, ss: u32) -> ManualClock {
        let local = day
            .and_hms_opt(hh, mm, ss)
            .and_then(|t| t.and_local_timezone(Local).earliest())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
        ManualClock::new(local)
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map_or_else(|_| Utc::now(), |now| *now)
    }
}
