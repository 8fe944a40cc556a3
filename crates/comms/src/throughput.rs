//! How fast a sender may send: carriers hold each sender to a rate by
//! number type (a US long code one segment a second, toll-free three, a
//! short code a hundred) and an account to a cap across its senders
//! (Twilio: 2,000 a second). Sending faster only queues at the provider,
//! where messages expire; tracedesk paces itself instead. A token bucket
//! per sender and one for the account, with time passed in, so the pacing
//! is tested without a clock.

use std::time::{Duration, Instant};

/// A sender's number type, and the rate it is held to by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    LongCode,
    TollFree,
    ShortCode,
}

impl NumberType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "long_code" => Some(NumberType::LongCode),
            "toll_free" => Some(NumberType::TollFree),
            "short_code" => Some(NumberType::ShortCode),
            _ => None,
        }
    }

    /// Segments a second.
    pub fn default_rate(self) -> f64 {
        match self {
            NumberType::LongCode => 1.0,
            NumberType::TollFree => 3.0,
            NumberType::ShortCode => 100.0,
        }
    }
}

/// Twilio's account-wide cap, segments a second.
pub const ACCOUNT_CAP: f64 = 2000.0;

/// A token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Starts full.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.at = now;
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        self.tokens.floor() as u64
    }

    /// Takes `n` tokens if there are that many; whether it did.
    pub fn take(&mut self, n: u64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n as f64 {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }

    /// How long until `n` tokens are there.
    pub fn wait_for(&mut self, n: u64, now: Instant) -> Duration {
        self.refill(now);
        let missing = n as f64 - self.tokens;
        if missing <= 0.0 || self.rate == 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(missing / self.rate)
        }
    }
}

/// The pace of one node's sends: the sender's bucket and the account's.
/// A message of `segments` segments takes that many tokens of each.
#[derive(Debug, Clone)]
pub struct Pace {
    sender: Bucket,
    account: Bucket,
}

impl Pace {
    /// `rate` segments a second for the sender (a second's worth may go at
    /// once), under the account's `cap`.
    pub fn new(rate: f64, cap: f64, now: Instant) -> Self {
        Self {
            sender: Bucket::new(rate, rate, now),
            account: Bucket::new(cap, cap, now),
        }
    }

    /// How many single-segment messages may go now (what to claim).
    pub fn room(&mut self, now: Instant) -> u64 {
        self.sender.available(now).min(self.account.available(now))
    }

    /// Takes `segments` from both buckets, or none; whether it did.
    pub fn take(&mut self, segments: u64, now: Instant) -> bool {
        let segments = segments.max(1);
        if self.sender.available(now) >= segments && self.account.available(now) >= segments {
            self.sender.take(segments, now) && self.account.take(segments, now)
        } else {
            false
        }
    }

    /// How long until `segments` may go.
    pub fn wait_for(&mut self, segments: u64, now: Instant) -> Duration {
        let segments = segments.max(1);
        self.sender
            .wait_for(segments, now)
            .max(self.account.wait_for(segments, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_code_sends_one_segment_a_second() {
        let t0 = Instant::now();
        let mut p = Pace::new(NumberType::LongCode.default_rate(), ACCOUNT_CAP, t0);
        assert_eq!(p.room(t0), 1);
        assert!(p.take(1, t0));
        assert!(!p.take(1, t0), "the second must wait");
        assert_eq!(p.wait_for(1, t0), Duration::from_secs(1));
        assert!(!p.take(1, t0 + Duration::from_millis(999)));
        assert!(p.take(1, t0 + Duration::from_millis(1000)));
        // Sixty seconds of quiet do not bank sixty sends.
        assert_eq!(p.room(t0 + Duration::from_secs(61)), 1);
    }

    #[test]
    fn segments_count_and_the_account_caps_every_sender() {
        let t0 = Instant::now();
        let mut p = Pace::new(NumberType::ShortCode.default_rate(), 150.0, t0);
        assert_eq!(p.room(t0), 100);
        assert!(p.take(3, t0), "a three-segment text takes three");
        assert_eq!(p.room(t0), 97);
        let mut capped = Pace::new(NumberType::ShortCode.default_rate(), 10.0, t0);
        assert_eq!(capped.room(t0), 10, "the account's cap binds first");
        assert!(capped.take(10, t0));
        assert_eq!(capped.wait_for(2, t0), Duration::from_millis(200));
    }

    #[test]
    fn toll_free_is_three_a_second() {
        let t0 = Instant::now();
        let mut p = Pace::new(
            NumberType::parse("toll_free").unwrap().default_rate(),
            ACCOUNT_CAP,
            t0,
        );
        let sent = (0..10).filter(|_| p.take(1, t0)).count();
        assert_eq!(sent, 3);
        assert!(NumberType::parse("fax").is_none());
    }
}
