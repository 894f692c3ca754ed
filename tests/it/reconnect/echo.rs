//! A line-echo server on loopback that can be stopped and restarted on
//! the same port, and a client resource holding one connection to it.
//! Shared by the reconnect tests and the resource bench.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steward::UserError;
use steward::resource::Resource;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

/// An echo server: every line sent comes back.
#[derive(Debug)]
pub(crate) struct EchoServer {
    addr: SocketAddr,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl EchoServer {
    /// Starts on a free loopback port.
    pub(crate) async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        Ok(Self {
            addr,
            running: Some(serve(listener)),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops: the listener and every connection are closed when this
    /// returns.
    pub(crate) async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Starts again on the same port.
    pub(crate) async fn restart(&mut self) -> io::Result<()> {
        self.stop().await;
        // The port is ours, but a client's connect may briefly hold it as
        // its own end (a TCP self-connect): try for a bounded while.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(error) if error.kind() == io::ErrorKind::AddrInUse && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => return Err(error),
            }
        };
        self.running = Some(serve(listener));
        Ok(())
    }
}

fn serve(listener: TcpListener) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        connections.spawn(echo(stream));
                    }
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        // Every connection is closed before the listener goes.
        connections.shutdown().await;
    });
    (stop, task)
}

async fn echo(stream: TcpStream) {
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
}

/// A client holding one connection to an [`EchoServer`].
#[derive(Debug)]
pub(crate) struct EchoClient {
    addr: SocketAddr,
    reconnects: bool,
    connection: Mutex<Option<Connection>>,
    /// `initialize` calls, refused ones included.
    pub(crate) connects: AtomicU32,
    /// `initialize` calls running now, and the most ever at once.
    connecting: AtomicU32,
    pub(crate) most_connecting: AtomicU32,
    /// Connects the server refused so far.
    refused: watch::Sender<u32>,
}

#[derive(Debug)]
struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl EchoClient {
    /// A client of `addr`; `reconnects` says whether a broken connection
    /// counts as a disconnect ([`Resource::is_disconnect`]).
    pub(crate) fn new(addr: SocketAddr, reconnects: bool) -> Self {
        Self {
            addr,
            reconnects,
            connection: Mutex::new(None),
            connects: AtomicU32::new(0),
            connecting: AtomicU32::new(0),
            most_connecting: AtomicU32::new(0),
            refused: watch::Sender::new(0),
        }
    }

    /// Sends `line` and returns the server's answer.
    pub(crate) async fn call(&self, line: &str) -> Result<String, UserError> {
        let mut connection = self.connection.lock().await;
        let Some(connection) = connection.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected).into());
        };
        connection
            .writer
            .write_all(format!("{line}\n").as_bytes())
            .await?;
        let mut answer = String::new();
        if connection.reader.read_line(&mut answer).await? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        Ok(answer.trim_end().to_owned())
    }

    /// Resolves once the server has refused `n` connects in all.
    pub(crate) async fn refused(&self, n: u32) {
        let _ = self
            .refused
            .subscribe()
            .wait_for(|&refused| refused >= n)
            .await;
    }
}

/// Counts an `initialize` for as long as it runs.
struct Connecting<'a>(&'a AtomicU32);

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Resource for EchoClient {
    async fn initialize(&self) -> Result<(), UserError> {
        self.connects.fetch_add(1, Ordering::SeqCst);
        let now = self.connecting.fetch_add(1, Ordering::SeqCst) + 1;
        let _connecting = Connecting(&self.connecting);
        self.most_connecting.fetch_max(now, Ordering::SeqCst);
        let stream = TcpStream::connect(self.addr).await.inspect_err(|_| {
            self.refused.send_modify(|refused| *refused += 1);
        })?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        *self.connection.lock().await = Some(Connection {
            reader: BufReader::new(reader),
            writer,
        });
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        self.connection.lock().await.take();
        Ok(())
    }

    fn is_disconnect(&self, error: &UserError) -> bool {
        self.reconnects
            && error.downcast_ref::<io::Error>().is_some_and(|error| {
                matches!(
                    error.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::NotConnected
                )
            })
    }
}
