//! The cap on concurrent connections per client IP address: [`ConnCap`] counts the open
//! connections of each address and hands out a [`Slot`] while the address is under the cap;
//! [`Counted`] keeps a slot with its socket, so the slot is released when the socket is
//! dropped (after the last HTTP response, or when an upgraded websocket ends).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Open connections per address, capped at `max` (0: no cap).
#[derive(Debug, Clone)]
pub struct ConnCap {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnCap {
    pub fn new(max: usize) -> ConnCap {
        ConnCap {
            max,
            open: Arc::default(),
        }
    }

    /// The most connections one address may have open; 0 when there is no cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot for one more connection from `ip`; `None` when `ip` already has `max` open.
    /// IPv4 addresses reached over IPv6 (`::ffff:a.b.c.d`) count as the IPv4 address.
    pub fn acquire(&self, ip: IpAddr) -> Option<Slot> {
        let ip = ip.to_canonical();
        let mut open = lock(&self.open);
        let n = open.entry(ip).or_insert(0);
        if self.max != 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            ip,
            open: self.open.clone(),
        })
    }

    /// Connections open from `ip` now.
    pub fn open(&self, ip: IpAddr) -> usize {
        lock(&self.open)
            .get(&ip.to_canonical())
            .copied()
            .unwrap_or(0)
    }
}

/// The map stays consistent even if a holder panicked: every change is one statement.
fn lock(open: &Mutex<HashMap<IpAddr, usize>>) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One open connection of an address; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A socket that holds its address's [`Slot`] for as long as it lives.
#[derive(Debug)]
pub struct Counted<T> {
    io: T,
    _slot: Slot,
}

impl<T> Counted<T> {
    pub fn new(io: T, slot: Slot) -> Counted<T> {
        Counted { io, _slot: slot }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_at_most_max_slots_and_a_dropped_slot_frees_one() {
        let cap = ConnCap::new(2);
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        let first = cap.acquire(a);
        let second = cap.acquire(a);
        assert!(first.is_some() && second.is_some());
        assert!(cap.acquire(a).is_none(), "third connection of a");
        assert!(cap.acquire(b).is_some(), "b has its own count");
        drop(first);
        assert_eq!(cap.open(a), 1);
        assert!(cap.acquire(a).is_some());
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4_and_zero_means_no_cap() {
        let cap = ConnCap::new(1);
        let v4 = IpAddr::from([127, 0, 0, 1]);
        let mapped = IpAddr::from(std::net::Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped());
        let _held = cap.acquire(v4);
        assert!(cap.acquire(mapped).is_none());
        let open = ConnCap::new(0);
        let held: Vec<_> = (0..100).filter_map(|_| open.acquire(v4)).collect();
        assert_eq!(held.len(), 100);
        drop(held);
        assert_eq!(
            open.open(v4),
            0,
            "the map forgets addresses with nothing open"
        );
    }
}
