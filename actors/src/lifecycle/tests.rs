use super::*;

/// The transition table written out a second time, independently of
/// `State::can_transition_to`, as a matrix read row = from, column = to, in
/// the order of `State::ALL`:
/// Uninitialized, Initializing, Ready, Degraded, Error, Closing, Closed.
const EXPECTED: [[bool; 7]; 7] = {
    const X: bool = true;
    const O: bool = false;
    [
        // to: Un Ini Rdy Deg Err Cln Cld
        [O, X, O, O, O, X, O], // from Uninitialized
        [O, O, X, O, X, X, O], // from Initializing
        [O, O, O, X, X, X, O], // from Ready
        [O, O, X, O, X, X, O], // from Degraded
        [O, X, O, O, O, X, O], // from Error
        [O, O, O, O, O, O, X], // from Closing
        [O, O, O, O, O, O, O], // from Closed
    ]
};

#[test]
fn every_pair_matches_the_independent_table() {
    let mut checked = 0;
    for (row, from) in State::ALL.into_iter().enumerate() {
        for (column, to) in State::ALL.into_iter().enumerate() {
            let expected = EXPECTED[row][column];
            assert_eq!(
                from.can_transition_to(to),
                expected,
                "{from} -> {to} should be {}",
                if expected { "legal" } else { "illegal" }
            );
            match transition(from, to) {
                Ok(state) => assert!(expected && state == to, "{from} -> {to}"),
                Err(err) => assert!(!expected && err == IllegalTransition { from, to }),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 49);
}

#[test]
fn closed_is_final_and_every_live_state_can_close() {
    for state in State::ALL {
        let can_close = state.can_transition_to(State::Closing);
        let live = !matches!(state, State::Closing | State::Closed);
        assert_eq!(can_close, live, "{state} -> closing");
        assert_eq!(state.is_final(), state == State::Closed);
    }
}

#[test]
fn serialized_names_match_display() {
    for state in State::ALL {
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{state}\""));
        let back: State = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
    }
}

#[test]
fn advance_notifies_subscribers_in_order() {
    let mut lifecycle = Lifecycle::new("db");
    let mut events = lifecycle.subscribe();
    let path = [
        State::Initializing,
        State::Ready,
        State::Degraded,
        State::Ready,
        State::Closing,
        State::Closed,
    ];
    for to in path {
        lifecycle.advance(to, format!("to {to}")).unwrap();
    }
    let mut from = State::Uninitialized;
    for to in path {
        let event = events.try_recv().unwrap();
        assert_eq!(
            (event.resource.as_str(), event.from, event.to),
            ("db", from, to)
        );
        assert_eq!(event.reason, format!("to {to}"));
        from = to;
    }
    assert!(events.try_recv().is_err(), "no extra events");
}

#[test]
fn an_illegal_move_changes_nothing_and_notifies_nobody() {
    let mut lifecycle = Lifecycle::new("pool");
    let mut events = lifecycle.subscribe();
    let err = lifecycle.advance(State::Ready, "skip init").unwrap_err();
    assert_eq!(
        err.to_string(),
        "illegal lifecycle transition from uninitialized to ready"
    );
    assert_eq!(lifecycle.state(), State::Uninitialized);
    assert!(events.try_recv().is_err());
}

mod recipients {
    use super::*;
    use actix::{Actor, Context, Handler};
    use tokio::sync::mpsc;

    struct Collector(mpsc::UnboundedSender<StateChanged>);

    impl Actor for Collector {
        type Context = Context<Self>;
    }

    impl Handler<StateChanged> for Collector {
        type Result = ();
        fn handle(&mut self, event: StateChanged, _: &mut Context<Self>) {
            let _ = self.0.send(event);
        }
    }

    #[actix_rt::test]
    async fn an_actor_subscriber_receives_every_move() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let collector = Collector(tx).start();
        let mut lifecycle = Lifecycle::new("cache");
        lifecycle.subscribe_recipient(collector.recipient());
        lifecycle.advance(State::Initializing, "start").unwrap();
        lifecycle.advance(State::Error, "refused").unwrap();

        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        assert_eq!(
            (first.from, first.to),
            (State::Uninitialized, State::Initializing)
        );
        assert_eq!(
            (second.from, second.to),
            (State::Initializing, State::Error)
        );
        assert_eq!(second.reason, "refused");
    }
}
