//! A client resource over a real TCP connection to a line-echo server on
//! loopback. The server is stopped and restarted while the client keeps
//! calling: the calls caught by the outage fail over to one shared
//! reconnect (`Ready → Degraded → Error → Initializing → Ready`) and
//! succeed once the server is back; the statistics show it.
//!
//! `cargo run --example reconnect`

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use steward::resource::{Resource, ResourceKeeper, RetryPolicy};
use steward::{Steward, UserError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// One connection to the echo server.
struct EchoClient {
    addr: SocketAddr,
    connection: Mutex<Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)>>,
}

impl EchoClient {
    async fn call(&self, line: String) -> Result<String, UserError> {
        let mut connection = self.connection.lock().await;
        let (reader, writer) = connection
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        writer.write_all(format!("{line}\n").as_bytes()).await?;
        let mut answer = String::new();
        if reader.read_line(&mut answer).await? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        Ok(answer.trim_end().to_owned())
    }
}

impl Resource for EchoClient {
    async fn initialize(&self) -> Result<(), UserError> {
        let (reader, writer) = TcpStream::connect(self.addr).await?.into_split();
        *self.connection.lock().await = Some((BufReader::new(reader), writer));
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        self.connection.lock().await.take();
        Ok(())
    }

    /// A connection closed or reset by the server is gone: reconnect.
    fn is_disconnect(&self, error: &UserError) -> bool {
        error.downcast_ref::<io::Error>().is_some_and(|error| {
            matches!(
                error.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::NotConnected
            )
        })
    }
}

/// Accepts connections and echoes lines until aborted; aborting it drops
/// the listener and, with the `JoinSet`, every connection.
fn serve(listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if writer
                        .write_all(format!("{line}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steward = Steward::builder().start()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut server = serve(listener);
    println!("echo server on {addr}");

    let echo = ResourceKeeper::builder(
        "echo",
        EchoClient {
            addr,
            connection: Mutex::new(None),
        },
    )
    // How the supervisor reconnects: every 20–200 ms while refused.
    .retry(
        RetryPolicy::default()
            .with_max_retries(50)
            .with_base_delay(Duration::from_millis(20))
            .with_max_delay(Duration::from_millis(200)),
    )
    .without_health_checks()
    .start_in(steward.arbiter())?;
    let mut events = echo.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            println!("    [{} → {}] {}", event.from, event.to, event.reason);
        }
    });
    echo.initialize().await?;

    // Three callers, each calling every 40 ms; their policy: 5 retries.
    let callers: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|caller| {
            let echo = echo.clone();
            tokio::spawn(async move {
                let policy = RetryPolicy::default()
                    .with_max_retries(5)
                    .with_base_delay(Duration::from_millis(10));
                for n in 0..16 {
                    let started = Instant::now();
                    let line = format!("{caller}{n}");
                    let answer = echo
                        .operation(
                            "echo",
                            Duration::from_secs(10),
                            |client| {
                                let line = line.clone();
                                async move { client.call(line).await }
                            },
                            &policy,
                        )
                        .await;
                    let took = started.elapsed();
                    match answer {
                        Ok(answer) => println!("{line:>4} → {answer:<4} in {took:>9.1?}"),
                        Err(error) => println!("{line:>4} → failed in {took:.1?}: {error}"),
                    }
                    tokio::time::sleep(Duration::from_millis(40)).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    server.abort();
    let _ = (&mut server).await;
    println!("-- server stopped");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server = serve(TcpListener::bind(addr).await?);
    println!("-- server back on {addr}");
    for caller in callers {
        caller.await?;
    }

    println!(
        "\nstatistics:\n{}",
        serde_json::to_string_pretty(&echo.stats())?
    );
    echo.close(Duration::from_secs(5)).await?;
    server.abort();
    steward.shutdown().await?;
    Ok(())
}
