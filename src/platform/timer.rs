//! Timers: a [`Sleep`] future over `setTimeout` that clears its timeout and frees its callback
//! when dropped, and the wall clock in milliseconds.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Milliseconds since the epoch (only differences matter to the core).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

#[derive(Default)]
struct SleepState {
    fired: bool,
    waker: Option<Waker>,
}

/// Resolves once after `ms` milliseconds. Dropping it cancels the timeout.
pub struct Sleep {
    id: JsValue,
    state: Rc<RefCell<SleepState>>,
    _callback: Closure<dyn FnMut()>,
}

impl Sleep {
    pub fn new(ms: u64) -> Self {
        let state = Rc::new(RefCell::new(SleepState::default()));
        let callback = {
            let state = state.clone();
            Closure::<dyn FnMut()>::new(move || {
                let waker = {
                    let mut s = state.borrow_mut();
                    s.fired = true;
                    s.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            })
        };
        let id = set_timeout(callback.as_ref().unchecked_ref(), ms as f64);
        Sleep {
            id,
            state,
            _callback: callback,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.borrow_mut();
        if s.fired {
            Poll::Ready(())
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if !self.state.borrow().fired {
            clear_timeout(&self.id);
        }
    }
}
