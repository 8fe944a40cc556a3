//! Login throttling: a delay that grows with consecutive failures (per
//! account and per client address) and a lockout of the account that only
//! an administrator lifts.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed before any delay.
    pub free_failures: u32,
    /// Delay after the first delayed failure; doubles with each further one.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Consecutive failures that lock an account.
    pub lockout_after: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 3,
            base_delay: Duration::seconds(1),
            max_delay: Duration::minutes(5),
            lockout_after: 10,
        }
    }
}

impl ThrottlePolicy {
    /// How long after the last failure the next attempt must wait.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::zero();
        }
        let doublings = (failures - self.free_failures).min(20);
        let d = self.base_delay * 2i32.pow(doublings);
        d.min(self.max_delay)
    }

    /// When the next attempt may be made, or `None` if it may be made now.
    pub fn retry_at(
        &self,
        failures: u32,
        last_failure: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let at = last_failure? + self.delay(failures);
        (at > now).then_some(at)
    }

    pub fn locks(&self, failures: u32) -> bool {
        failures >= self.lockout_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_is_capped() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.delay(2), Duration::zero());
        assert_eq!(p.delay(3), Duration::seconds(1));
        assert_eq!(p.delay(4), Duration::seconds(2));
        assert_eq!(p.delay(6), Duration::seconds(8));
        assert_eq!(p.delay(40), Duration::minutes(5));
        assert!(!p.locks(9));
        assert!(p.locks(10));
    }

    #[test]
    fn retry_window() {
        let p = ThrottlePolicy::default();
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            p.retry_at(4, Some(t), t + Duration::seconds(1)),
            Some(t + Duration::seconds(2))
        );
        assert_eq!(p.retry_at(4, Some(t), t + Duration::seconds(2)), None);
        assert_eq!(p.retry_at(0, None, t), None);
    }
}
