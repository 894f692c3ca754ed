use std::time::Duration;

use tokio::time::Instant;

use crate::sync::{deadline_after, within};

#[test]
fn a_deadline_is_the_wait_after_now() {
    let now = std::time::Instant::now();
    assert_eq!(
        deadline_after(now, Duration::from_secs(3)),
        now + Duration::from_secs(3)
    );
}

#[test]
fn waiting_forever_saturates_at_thirty_years_on_both_clocks() {
    let thirty_years = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    let now = std::time::Instant::now();
    assert_eq!(deadline_after(now, Duration::MAX), now + thirty_years);
    let now = Instant::now();
    assert_eq!(deadline_after(now, Duration::MAX), now + thirty_years);
}

#[tokio::test(start_paused = true)]
async fn a_future_ready_at_once_gets_its_value_without_the_clock_moving() {
    let start = Instant::now();
    assert_eq!(within(Duration::ZERO, async { 7 }).await, Some(7));
    assert_eq!(Instant::now(), start);
}

#[tokio::test(start_paused = true)]
async fn a_future_that_waits_past_the_limit_is_dropped_at_the_limit() {
    let start = Instant::now();
    let outcome = within(Duration::from_secs(2), std::future::pending::<()>()).await;
    assert_eq!(outcome, None);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_future_that_waits_less_than_the_limit_gets_its_value() {
    let slow = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        "done"
    };
    assert_eq!(within(Duration::from_secs(2), slow).await, Some("done"));
}
