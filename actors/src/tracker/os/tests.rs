use super::*;

#[test]
fn reads_our_own_stat_and_refuses_dangerous_pids() {
    let me = stat(std::process::id()).unwrap();
    assert!(matches!(me.state, 'R' | 'S'));
    assert!(!signal_process(0, Signal::SIGTERM));
    assert!(!signal_process(1, Signal::SIGTERM));
    assert!(!signal_process(std::process::id(), Signal::SIGTERM));
    assert!(!signal_group(0, Signal::SIGTERM));
}
