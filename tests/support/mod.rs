//! Helpers shared by the browser test files: the test server's URL (baked in at compile time
//! from CHAT_TEST_SERVER), unique ids, and reading and building plain JS objects.
#![allow(dead_code)]

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

pub fn server() -> &'static str {
    match option_env!("CHAT_TEST_SERVER") {
        Some(url) => url,
        None => {
            panic!("set CHAT_TEST_SERVER=http://127.0.0.1:PORT when building the browser tests")
        }
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The value at a dotted path (`message.id`), or undefined.
pub fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |v, key| {
        Reflect::get(&v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    })
}

pub fn text(value: &JsValue, path: &str) -> String {
    get(value, path).as_string().unwrap_or_default()
}

pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}
