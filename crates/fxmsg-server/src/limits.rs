//! The platform's call limits (`fxmsg serve --rate-limits`; off by default for a stand-in):
//! 100 calls per 20 s per API path per corp, a daily quota of calls per corp, and at most 10
//! token calls a minute per app. Windows are fixed and aligned to the server's clock, so they
//! follow the test clock: moving it past a window's end opens the next one.
//!
//! Codes (contract §9, fxmsg's choice where it names two): a window full answers `30004`
//! (frequency exceeded), the daily quota `30002`. Only authenticated calls are counted, and a
//! refused call does not count.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use fxmsg_api::ErrorCode;

use crate::error::CompatError;

/// Calls per path per corp in one window.
pub const CALLS_PER_WINDOW: u32 = 100;
/// The window of [`CALLS_PER_WINDOW`].
pub const WINDOW_MS: i64 = 20_000;
/// Token calls per app in one minute.
pub const TOKEN_CALLS_PER_MINUTE: u32 = 10;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// The token endpoints, limited per app rather than per path and corp.
const TOKEN_PATHS: [&str; 3] = [
    "/cgi/corpAccessToken/get/V2",
    "/oauth2.0/token",
    "/cgi/appAccessToken/get",
];

/// Call counters of the current windows.
#[derive(Debug)]
pub struct Limits {
    daily_quota: u64,
    counts: Mutex<Counts>,
    /// Apps with a token call in progress: the platform takes one at a time.
    token_calls: Arc<Mutex<HashSet<String>>>,
}

/// A token call in progress for an app; the next may start once this is dropped.
#[derive(Debug)]
pub struct TokenCall {
    app_id: String,
    calls: Arc<Mutex<HashSet<String>>>,
}

impl Drop for TokenCall {
    fn drop(&mut self) {
        self.calls
            .lock()
            .expect("token calls lock")
            .remove(&self.app_id);
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// (corp or app, path) → (window number, calls in it).
    windows: HashMap<(String, String), (i64, u32)>,
    /// corp → (day number, calls in it).
    days: HashMap<String, (i64, u64)>,
}

impl Limits {
    /// Limits with `daily_quota` calls per corp per (UTC) day.
    pub fn new(daily_quota: u64) -> Limits {
        Limits {
            daily_quota,
            counts: Mutex::default(),
            token_calls: Arc::default(),
        }
    }

    /// Starts a token call for `app_id`, or refuses it while another one of the app's is in
    /// progress (contract §9: "never concurrently").
    pub fn token_call(&self, app_id: &str) -> Result<TokenCall, CompatError> {
        let mut calls = self.token_calls.lock().expect("token calls lock");
        if !calls.insert(app_id.to_owned()) {
            return Err(CompatError::new(
                ErrorCode::FrequencyExceeded,
                "call frequency exceeded: a token call of this app is in progress; the platform \
                 takes one at a time",
            ));
        }
        Ok(TokenCall {
            app_id: app_id.to_owned(),
            calls: self.token_calls.clone(),
        })
    }

    /// Counts one call to `path` by `app_id` of `corp_id` at `now`, or refuses it with the
    /// platform's code.
    pub fn count(
        &self,
        path: &str,
        corp_id: &str,
        app_id: &str,
        now: i64,
    ) -> Result<(), CompatError> {
        let token = TOKEN_PATHS.contains(&path);
        let (who, limit, window_ms) = if token {
            (app_id, TOKEN_CALLS_PER_MINUTE, MINUTE_MS)
        } else {
            (corp_id, CALLS_PER_WINDOW, WINDOW_MS)
        };
        let window = now.div_euclid(window_ms);
        let day = now.div_euclid(DAY_MS);
        let mut counts = self.counts.lock().expect("limits lock");
        let calls = counts
            .windows
            .get(&(who.to_owned(), path.to_owned()))
            .filter(|(at, _)| *at == window)
            .map_or(0, |(_, calls)| *calls);
        if calls >= limit {
            let next_in = (window + 1) * window_ms - now;
            let per = if token {
                format!("{limit} token calls a minute per app")
            } else {
                format!("{limit} calls per 20 s to {path} per corp")
            };
            return Err(CompatError::new(
                ErrorCode::FrequencyExceeded,
                format!(
                    "call frequency exceeded: at most {per}; the next window opens in {} ms",
                    next_in
                ),
            ));
        }
        let today = counts
            .days
            .get(corp_id)
            .filter(|(at, _)| *at == day)
            .map_or(0, |(_, calls)| *calls);
        if today >= self.daily_quota {
            return Err(CompatError::new(
                ErrorCode::DailyQuotaExceeded,
                format!(
                    "daily call quota exceeded: at most {} calls a day per corp (UTC days)",
                    self.daily_quota
                ),
            ));
        }
        counts
            .windows
            .insert((who.to_owned(), path.to_owned()), (window, calls + 1));
        counts.days.insert(corp_id.to_owned(), (day, today + 1));
        // Counters of past windows are dropped now and then, so the maps stay as small as the
        // set of callers active in the current window.
        if counts.windows.len() > 4096 {
            counts.windows.retain(|(_, path), (at, _)| {
                let ms = if TOKEN_PATHS.contains(&path.as_str()) {
                    MINUTE_MS
                } else {
                    WINDOW_MS
                };
                *at == now.div_euclid(ms)
            });
            counts.days.retain(|_, (at, _)| *at == day);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEND: &str = "/cgi/message/send";

    #[test]
    fn the_hundred_and_first_call_in_a_window_is_refused_and_the_next_window_opens() {
        let limits = Limits::new(1_000_000);
        let start = 40 * WINDOW_MS; // a window's first millisecond
        for _ in 0..CALLS_PER_WINDOW {
            limits.count(SEND, "C", "A", start + 5).unwrap();
        }
        let refused = limits
            .count(SEND, "C", "A", start + WINDOW_MS - 1)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::FrequencyExceeded);
        assert!(
            refused.description.contains("100 calls per 20 s"),
            "{}",
            refused.description
        );
        // Another path and another corp have windows of their own.
        limits.count("/media/upload", "C", "A", start + 6).unwrap();
        limits.count(SEND, "D", "A", start + 6).unwrap();
        limits.count(SEND, "C", "A", start + WINDOW_MS).unwrap();
    }

    #[test]
    fn token_calls_are_limited_per_app_per_minute() {
        let limits = Limits::new(1_000_000);
        let path = "/cgi/corpAccessToken/get/V2";
        for _ in 0..TOKEN_CALLS_PER_MINUTE {
            limits.count(path, "C", "A", 0).unwrap();
        }
        assert_eq!(
            limits.count(path, "C", "A", 59_999).unwrap_err().code,
            ErrorCode::FrequencyExceeded
        );
        limits.count(path, "C", "B", 59_999).unwrap();
        limits.count(path, "C", "A", 60_000).unwrap();
    }

    #[test]
    fn an_apps_token_calls_are_taken_one_at_a_time() {
        let limits = Limits::new(10);
        let first = limits.token_call("A").unwrap();
        let second = limits.token_call("A").unwrap_err();
        assert_eq!(second.code, ErrorCode::FrequencyExceeded);
        let other = limits.token_call("B").unwrap();
        drop(first);
        limits.token_call("A").unwrap();
        drop(other);
    }

    #[test]
    fn the_daily_quota_counts_every_path_of_a_corp_until_the_next_utc_day() {
        let limits = Limits::new(3);
        limits.count(SEND, "C", "A", 0).unwrap();
        limits.count("/media/upload", "C", "A", 1).unwrap();
        limits.count("/media/delete", "C", "A", 2).unwrap();
        let refused = limits.count(SEND, "C", "A", DAY_MS - 1).unwrap_err();
        assert_eq!(refused.code, ErrorCode::DailyQuotaExceeded);
        limits.count(SEND, "C", "A", DAY_MS).unwrap();
    }
}
