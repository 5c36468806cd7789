//! Resilience patterns: the parts of a system that keep a failure from spreading.
//!
//! Every component is sans-IO in the same way as the rest of this crate: a plain struct that
//! is given `now` (and a random stream where it draws) and returns a decision. None of them
//! schedules anything, reads a clock or allocates after construction (except where a
//! method says so).
//!
//! - [`CircuitBreaker`]: stop calling a failing dependency, then probe it.
//! - [`Backoff`] and [`RetryBudget`]: when to retry, and whether retries are affordable.
//! - [`TokenBucket`] and [`KeyedRateLimiter`]: admission at a sustained rate with bursts.
//! - [`RetryQueue`]: deferred work, such as payments accepted while the provider is down.
//! - [`Ledger`]: the payment ledger that proves no payment is lost or taken twice.

pub mod circuit_breaker;
pub mod ledger;
pub mod rate_limiter;
pub mod retry;
pub mod retry_queue;

pub use circuit_breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use ledger::{Ledger, LedgerTotals, PaymentFate, PaymentId, Settlement};
pub use rate_limiter::{KeyedRateLimiter, TokenBucket};
pub use retry::{Backoff, Jitter, RetryBudget};
pub use retry_queue::RetryQueue;
