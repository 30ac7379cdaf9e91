//! A byte-counting TCP proxy in front of a server (the real registry, or any other) that can
//! hold bytes back after a given count, in either direction: a transfer interrupted mid-body at
//! an exact byte, without timing. It also counts the `DELETE` requests clients send through it.
//!
//! ```
//! use oci_testkit::gate::Gate;
//! use oci_testkit::server::{Reply, Server};
//!
//! let server = Server::start(|_| Reply::new(200).body("0123456789"));
//! // At most 40 bytes reach the client: the head passes, the body is held back.
//! let gate = Gate::start(&server.registry(), 40, u64::MAX);
//! assert!(gate.addr.starts_with("127.0.0.1:"));
//! assert_eq!((gate.sent(), gate.received(), gate.deletes()), (0, 0, 0));
//! ```

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// Registry → client.
const DOWN: usize = 0;
/// Client → registry.
const UP: usize = 1;

/// A TCP proxy (loopback only) that counts the bytes it passes each way and holds them back
/// once a direction's limit is reached, until the gate is dropped.
pub struct Gate {
    /// `127.0.0.1:<port>`: where clients connect instead of the upstream server.
    pub addr: String,
    shared: Arc<Shared>,
}

struct Shared {
    /// Bytes passed and the limit, per direction.
    passed: Mutex<[(u64, u64); 2]>,
    moved: Condvar,
    closed: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
    /// Reads from clients that began with a `DELETE` request line.
    deletes: AtomicU64,
}

impl Shared {
    /// Waits until `n` more bytes may pass in `direction`; false when the gate closed.
    fn admit(&self, direction: usize, n: u64) -> bool {
        let mut passed = self.passed.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return false;
            }
            let (done, limit) = &mut passed[direction];
            if *done + n <= *limit {
                *done += n;
                self.moved.notify_all();
                return true;
            }
            passed = self
                .moved
                .wait(passed)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn passed(&self, direction: usize) -> u64 {
        self.passed.lock().unwrap_or_else(PoisonError::into_inner)[direction].0
    }
}

impl Gate {
    /// A gate in front of `upstream` that lets `down` bytes through to clients and `up` bytes
    /// through to the registry.
    pub fn start(upstream: &str, down: u64, up: u64) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the gate");
        let addr = listener.local_addr().expect("gate address").to_string();
        let shared = Arc::new(Shared {
            passed: Mutex::new([(0, down), (0, up)]),
            moved: Condvar::new(),
            closed: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
            deletes: AtomicU64::new(0),
        });
        let upstream = upstream.to_owned();
        let accept = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accept.closed.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, TcpStream::connect(&upstream)) else {
                    continue;
                };
                relay(&accept, client, server);
            }
        });
        Gate { addr, shared }
    }

    /// Bytes passed to clients so far.
    pub fn sent(&self) -> u64 {
        self.shared.passed(DOWN)
    }

    /// Bytes passed to the registry so far.
    pub fn received(&self) -> u64 {
        self.shared.passed(UP)
    }

    /// `DELETE` requests clients sent (counted before the limit holds them back).
    pub fn deletes(&self) -> u64 {
        self.shared.deletes.load(Ordering::SeqCst)
    }
}

/// Copies each direction through the gate, on a thread each.
fn relay(shared: &Arc<Shared>, client: TcpStream, server: TcpStream) {
    let (Ok(c_read), Ok(s_write), Ok(s_read), Ok(c_write)) = (
        client.try_clone(),
        server.try_clone(),
        server.try_clone(),
        client.try_clone(),
    ) else {
        return;
    };
    shared
        .streams
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend([client, server]);
    for (direction, mut from, mut to) in [(UP, c_read, s_write), (DOWN, s_read, c_write)] {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if direction == UP && buf[..n].starts_with(b"DELETE ") {
                    shared.deletes.fetch_add(1, Ordering::SeqCst);
                }
                if !shared.admit(direction, n as u64) || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("addr", &self.addr).finish()
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.moved.notify_all();
        for s in self
            .shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(&self.addr);
    }
}
