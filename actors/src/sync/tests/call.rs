use std::time::Duration;

use crate::sync::{Ended, call, catch};

#[tokio::test(start_paused = true)]
async fn a_callback_that_returns_gives_its_value_bounded_or_not() {
    assert_eq!(call(None, async { 3 }).await, Ok(3));
    assert_eq!(call(Some(Duration::from_secs(1)), async { 4 }).await, Ok(4));
}

#[tokio::test(start_paused = true)]
async fn a_callback_that_outlives_its_bound_times_out() {
    let limit = Duration::from_millis(250);
    let outcome = call(Some(limit), std::future::pending::<()>()).await;
    assert_eq!(outcome, Err(Ended::TimedOut(limit)));
}

#[tokio::test]
async fn a_panic_before_the_first_await_or_after_it_is_caught() {
    let at_once = call(None, async { panic!("at once") }).await;
    assert_eq!(at_once, Err::<(), _>(Ended::Panicked("at once".to_owned())));
    let later = call(Some(Duration::from_secs(5)), async {
        tokio::task::yield_now().await;
        panic!("after {} awaits", 1)
    })
    .await;
    assert_eq!(
        later,
        Err::<(), _>(Ended::Panicked("after 1 awaits".to_owned()))
    );
}

#[test]
fn a_synchronous_callback_gives_its_value_or_its_panic_message() {
    assert_eq!(catch(|| 5), Ok(5));
    assert_eq!(
        catch(|| -> u8 { panic!("bad input") }),
        Err("bad input".to_owned())
    );
}
