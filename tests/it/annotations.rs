//! `#[io_bound]` and `#[cpu_bound]` through the process-wide `Steward`.

use std::path::Path;
use std::sync::OnceLock;

use steward::{Error, Steward, cpu_bound, io_bound};

/// One process-wide `Steward` for these tests: a single CPU worker, so
/// recursion that did not run inline would deadlock.
fn use_one_worker_global() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let steward = Steward::builder()
            .cpu_workers(1)
            .start()
            .expect("steward starts");
        steward::set_global(steward);
    });
}

#[cpu_bound]
fn factorial(n: u64) -> Result<u64, Error> {
    if n <= 1 {
        return Ok(1);
    }
    Ok(n.wrapping_mul(factorial(n - 1)?))
}

#[cpu_bound]
fn runs_on_a_worker() -> Result<Option<String>, Error> {
    Ok(std::thread::current().name().map(str::to_owned))
}

#[cpu_bound]
fn explodes() -> Result<(), Error> {
    panic!("cpu_bound body panicked")
}

#[cpu_bound]
async fn checksum(data: Vec<u8>) -> Result<u64, Error> {
    Ok(data.iter().map(|&b| u64::from(b)).sum())
}

#[io_bound(path = file)]
fn read_blocking(file: &Path, entered: &std::sync::mpsc::Sender<()>) -> std::io::Result<Vec<u8>> {
    let _ = entered.send(());
    std::fs::read(file)
}

#[io_bound(path = file)]
async fn read_counting_in_flight(file: &Path) -> std::io::Result<(Vec<u8>, usize)> {
    let in_flight = steward::global()?.drives().drive(file)?.stats().in_flight;
    Ok((tokio::fs::read(file).await?, in_flight))
}

#[test]
fn cpu_bound_recursion_runs_inline_on_one_worker() {
    use_one_worker_global();
    let expected = (1..=10_000_u64).fold(1_u64, u64::wrapping_mul);
    assert_eq!(factorial(10_000).unwrap(), expected);
    assert_eq!(
        runs_on_a_worker().unwrap().as_deref(),
        Some("steward-cpu-0")
    );
}

#[test]
fn a_panicking_cpu_bound_body_is_an_error() {
    use_one_worker_global();
    let err = explodes().unwrap_err();
    assert_eq!(err.to_string(), "CPU job panicked: cpu_bound body panicked");
    assert_eq!(factorial(5).unwrap(), 120, "the pool still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_cpu_bound_awaits_the_pool() {
    use_one_worker_global();
    assert_eq!(checksum(vec![2; 1000]).await.unwrap(), 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_bound_holds_a_permit_on_the_path_s_drive_for_its_body() {
    use_one_worker_global();
    let file =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io-bound-{}", std::process::id()));
    std::fs::write(&file, b"payload").unwrap();
    let drive = steward::global().unwrap().drives().drive(&file).unwrap();
    let before = drive.stats().completed;
    let (bytes, in_flight) = read_counting_in_flight(&file).await.unwrap();
    assert_eq!(bytes, b"payload");
    assert!(in_flight >= 1, "the body ran holding a permit");
    assert!(drive.stats().completed > before, "and released it");
}

#[test]
fn a_sync_io_bound_fn_blocks_until_its_drive_has_a_permit_and_holds_it_for_its_body() {
    use std::sync::mpsc;
    use std::time::Duration;
    use_one_worker_global();
    let file = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("io-bound-sync-{}", std::process::id()));
    std::fs::write(&file, b"payload").unwrap();
    let drives = steward::global().unwrap().drives().clone();
    let drive = drives.drive(&file).unwrap();
    // Take every permit of the drive: the function must wait.
    let limit = drive.stats().limit;
    let held: Vec<_> = (0..limit)
        .map(|_| drive.try_acquire().expect("a free permit"))
        .collect();
    let (entered, body_ran) = mpsc::channel();
    let reader = {
        let file = file.clone();
        std::thread::spawn(move || read_blocking(&file, &entered))
    };
    // Bounded: the waiter shows up in the drive's statistics.
    super::poll::until("the call waits", Duration::from_secs(30), || {
        drive.stats().waiting > 0
    });
    assert!(
        body_ran.try_recv().is_err(),
        "the body ran without a permit"
    );
    let completed = drive.stats().completed;
    drop(held);
    body_ran
        .recv_timeout(Duration::from_secs(30))
        .expect("the body runs once a permit is free");
    assert_eq!(reader.join().unwrap().unwrap(), b"payload");
    assert_eq!(drive.stats().in_flight, 0, "and its permit is released");
    assert!(drive.stats().completed > completed);
}
