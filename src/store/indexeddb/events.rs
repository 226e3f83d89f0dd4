//! Waiting for IndexedDB's events from async Rust: [`Events`] listens to one request
//! (`success` / `error`, and for an open request `blocked`) or one transaction (`complete` /
//! `abort`) with ONE closure, and hands out each event as it fires — so a cursor can be walked
//! by awaiting the same request again. Requests that nobody awaits (the puts of a write batch)
//! get no listener at all: the transaction's completion covers them.
//!
//! An awaiting task resumes in a microtask right after the event's handler, while the
//! transaction is still active, so it may issue further requests in the same transaction.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, IdbOpenDbRequest, IdbRequest, IdbTransaction};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// `success` of a request, `complete` of a transaction.
    Done,
    /// `error` of a request, `abort` of a transaction.
    Failed,
    /// `blocked` of an open (or delete) request.
    Blocked,
}

#[derive(Default)]
struct Slot {
    fired: Option<Fired>,
    waker: Option<Waker>,
}

enum Target {
    Request(IdbRequest),
    Open(IdbOpenDbRequest),
    Transaction(IdbTransaction),
}

/// The events of one request or transaction. Dropping it removes the listener.
pub struct Events {
    slot: Rc<RefCell<Slot>>,
    target: Target,
    _callback: Closure<dyn FnMut(Event)>,
}

impl Events {
    fn new(target: Target) -> Events {
        let slot: Rc<RefCell<Slot>> = Rc::default();
        let seen = slot.clone();
        let callback = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let fired = match event.type_().as_str() {
                "success" | "complete" => Fired::Done,
                "blocked" => Fired::Blocked,
                _ => Fired::Failed,
            };
            let mut slot = seen.borrow_mut();
            slot.fired = Some(fired);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        });
        let f = Some(callback.as_ref().unchecked_ref());
        match &target {
            Target::Request(r) => {
                r.set_onsuccess(f);
                r.set_onerror(f);
            }
            Target::Open(r) => {
                r.set_onsuccess(f);
                r.set_onerror(f);
                r.set_onblocked(f);
            }
            Target::Transaction(t) => {
                t.set_oncomplete(f);
                t.set_onabort(f);
            }
        }
        Events {
            slot,
            target,
            _callback: callback,
        }
    }

    pub fn of_request(request: &IdbRequest) -> Events {
        Events::new(Target::Request(request.clone()))
    }

    pub fn of_open(request: &IdbOpenDbRequest) -> Events {
        Events::new(Target::Open(request.clone()))
    }

    pub fn of_transaction(tx: &IdbTransaction) -> Events {
        Events::new(Target::Transaction(tx.clone()))
    }

    /// The next event (one that fired before this call counts).
    pub fn next(&self) -> Next<'_> {
        Next { events: self }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        match &self.target {
            Target::Request(r) => {
                r.set_onsuccess(None);
                r.set_onerror(None);
            }
            Target::Open(r) => {
                r.set_onsuccess(None);
                r.set_onerror(None);
                r.set_onblocked(None);
            }
            Target::Transaction(t) => {
                t.set_oncomplete(None);
                t.set_onabort(None);
            }
        }
    }
}

pub struct Next<'a> {
    events: &'a Events,
}

impl Future for Next<'_> {
    type Output = Fired;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fired> {
        let mut slot = self.events.slot.borrow_mut();
        match slot.fired.take() {
            Some(fired) => Poll::Ready(fired),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
