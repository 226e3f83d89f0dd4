//! [`Wire`] for JS values: wire objects stay JS objects and are read with `Reflect`.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::state::Wire;

impl Wire for JsValue {
    fn field(&self, key: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        Reflect::get(self, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }
    fn as_string(&self) -> Option<String> {
        JsValue::as_string(self)
    }
    fn as_u64(&self) -> Option<u64> {
        self.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64)
    }
    fn as_bool(&self) -> Option<bool> {
        JsValue::as_bool(self)
    }
    fn items(&self) -> Vec<Self> {
        match self.dyn_ref::<Array>() {
            Some(a) => a.iter().collect(),
            None => Vec::new(),
        }
    }
}
