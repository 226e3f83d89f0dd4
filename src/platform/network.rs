//! The browser's connectivity signals: the window's `online`/`offline` events and the
//! document becoming visible again (`visibilitychange`), forwarded for as long as a
//! [`NetworkWatch`] lives. Dropping it removes the listeners.

use futures::channel::mpsc::UnboundedSender;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Online,
    Offline,
    Visible,
}

/// One registered listener: where, which event, and the callback (kept alive until drop).
type Listener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut()>);

pub struct NetworkWatch {
    listeners: Vec<Listener>,
}

impl NetworkWatch {
    /// Listens where it can (a worker has no document); never fails.
    pub fn new(sink: UnboundedSender<Signal>) -> Self {
        let mut listeners = Vec::new();
        let Some(window) = web_sys::window() else {
            return NetworkWatch { listeners };
        };
        let document = window.document();
        let mut add = |target: web_sys::EventTarget, name: &'static str, signal: Signal| {
            let sink = sink.clone();
            let doc = document.clone();
            let callback = Closure::<dyn FnMut()>::new(move || {
                let hidden = doc.as_ref().is_some_and(|d| d.hidden());
                if signal != Signal::Visible || !hidden {
                    let _ = sink.unbounded_send(signal);
                }
            });
            if target
                .add_event_listener_with_callback(name, callback.as_ref().unchecked_ref())
                .is_ok()
            {
                listeners.push((target, name, callback));
            }
        };
        add(window.clone().into(), "online", Signal::Online);
        add(window.clone().into(), "offline", Signal::Offline);
        if let Some(doc) = document.clone() {
            add(doc.into(), "visibilitychange", Signal::Visible);
        }
        NetworkWatch { listeners }
    }
}

impl Drop for NetworkWatch {
    fn drop(&mut self) {
        for (target, name, callback) in &self.listeners {
            let _ =
                target.remove_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        }
    }
}
