//! The browser's online/offline signal: listens to the window's `online` and `offline` events
//! for as long as a [`NetworkWatch`] lives and forwards them as booleans.

use futures::channel::mpsc::UnboundedSender;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Registered listeners; dropping this removes them.
pub struct NetworkWatch {
    target: web_sys::EventTarget,
    online: Closure<dyn FnMut()>,
    offline: Closure<dyn FnMut()>,
}

impl NetworkWatch {
    /// `None` outside a window (e.g. in a worker), where no such events exist.
    pub fn new(sink: UnboundedSender<bool>) -> Option<Self> {
        let target: web_sys::EventTarget = web_sys::window()?.into();
        let forward = |value: bool| {
            let sink = sink.clone();
            Closure::<dyn FnMut()>::new(move || {
                let _ = sink.unbounded_send(value);
            })
        };
        let (online, offline) = (forward(true), forward(false));
        target
            .add_event_listener_with_callback("online", online.as_ref().unchecked_ref())
            .ok()?;
        target
            .add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref())
            .ok()?;
        Some(NetworkWatch {
            target,
            online,
            offline,
        })
    }
}

impl Drop for NetworkWatch {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback("online", self.online.as_ref().unchecked_ref());
        let _ = self
            .target
            .remove_event_listener_with_callback("offline", self.offline.as_ref().unchecked_ref());
    }
}
