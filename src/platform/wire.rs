//! [`Wire`] for JS values: wire objects stay JS objects and are read with `Reflect`.

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::state::Wire;

thread_local! {
    /// Property names as JS strings. Making one from a Rust `&str` goes through `TextDecoder`,
    /// which costs more than the property access itself; the SDK reads a few dozen distinct
    /// names, very often (every record of a sync page), so they are made once.
    static NAMES: RefCell<Vec<(Box<str>, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// The JS string `key` (cached; names beyond the first 64 distinct ones are not kept).
fn name(key: &str) -> JsValue {
    NAMES.with(|names| {
        if let Some((_, v)) = names.borrow().iter().find(|(k, _)| **k == *key) {
            return v.clone();
        }
        let v = JsValue::from_str(key);
        let mut names = names.borrow_mut();
        if names.len() < 64 {
            names.push((key.into(), v.clone()));
        }
        v
    })
}

impl Wire for JsValue {
    fn field(&self, key: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        Reflect::get(self, &name(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }
    fn has_str(&self, key: &str) -> bool {
        self.field(key).is_some_and(|v| v.is_string())
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
    fn string(text: &str) -> Self {
        JsValue::from_str(text)
    }
    fn number(n: u64) -> Self {
        JsValue::from_f64(n as f64)
    }
    fn boolean(b: bool) -> Self {
        JsValue::from_bool(b)
    }
    fn array(items: Vec<Self>) -> Self {
        items.into_iter().collect::<Array>().into()
    }
    fn object(fields: Vec<(&str, Self)>) -> Self {
        let object = Object::new();
        for (k, v) in fields {
            let _ = Reflect::set(&object, &name(k), &v);
        }
        object.into()
    }
    fn with(&self, key: &str, value: Option<Self>) -> Self {
        let copy = Object::assign(&Object::new(), self.unchecked_ref());
        let k = name(key);
        match value {
            Some(v) => {
                let _ = Reflect::set(&copy, &k, &v);
            }
            None => {
                let _ = Reflect::delete_property(&copy, &k);
            }
        }
        copy.into()
    }
    fn merged(&self, other: &Self) -> Self {
        let copy = Object::assign(&Object::new(), self.unchecked_ref());
        Object::assign(&copy, other.unchecked_ref()).into()
    }
}
