//! steward's Prometheus recorder for the benches that measure a hot path
//! with and without it in one run: the runs without it come first, then
//! [`install`] serves `/metrics` as a program would, which installs the
//! recorder for the rest of the process.

// Each bench uses the part it needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use steward::Steward;

/// Serves `/metrics` from `steward` (installing the recorder the first
/// time in the process) and scrapes it once; the address.
pub(crate) fn install(steward: &Steward, runtime: &tokio::runtime::Runtime) -> SocketAddr {
    let addr = runtime
        .block_on(steward.observe(([127, 0, 0, 1], 0)))
        .expect("the endpoint starts");
    scrape(addr);
    addr
}

/// `GET /metrics`, its body.
pub(crate) fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of `series` (name and labels as rendered) in a scrape.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}
