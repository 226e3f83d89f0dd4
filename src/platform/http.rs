//! The fetch transport: sends [`ApiRequest`]s with the browser's `fetch` and parses answers with
//! `JSON.parse`; error bodies are read field by field ([`decode::api_error`]).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::api::{Api, ApiRequest, Method, Transport};
use crate::decode;
use crate::error::SdkError;

#[derive(Debug, Default, Clone, Copy)]
pub struct FetchTransport;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The global `fetch` (window or worker).
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with(url: &str, init: &JsValue) -> js_sys::Promise;
}

impl FetchTransport {
    /// Sends a request whose body is a JS value; answers the parsed JSON as a JS value. The
    /// non-generic path the bindings use: answers stay JS objects, and no serde deserializer
    /// ends up in the wasm. (`fetch` is called directly: an HTTP client crate brings its own
    /// method and header types into the wasm.)
    pub async fn send_js(&self, request: ApiRequest<'_, JsValue>) -> Result<JsValue, SdkError> {
        let headers = js_sys::Object::new();
        let set = |o: &js_sys::Object, k: &str, v: &JsValue| {
            let _ = js_sys::Reflect::set(o, &JsValue::from_str(k), v);
        };
        for (name, value) in &request.headers {
            set(&headers, name, &JsValue::from_str(value));
        }
        let init = js_sys::Object::new();
        set(&init, "method", &JsValue::from_str(request.method.as_str()));
        if let Some(body) = request.body {
            let text = js_sys::JSON::stringify(body)
                .map_err(|_| SdkError::invalid_input("value cannot be written as JSON"))?;
            set(&headers, "Content-Type", &JsValue::from_str("application/json"));
            set(&init, "body", &text.into());
        }
        set(&init, "headers", &headers.into());
        let failed = |e: JsValue| {
            let message = js_sys::Reflect::get(&e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "the request failed".into());
            SdkError::network(message)
        };
        let response: web_sys::Response = JsFuture::from(fetch_with(&request.url, &init.into()))
            .await
            .map_err(failed)?
            .unchecked_into();
        let status = response.status();
        let text = match response.text() {
            Ok(p) => JsFuture::from(p).await.map_err(failed)?,
            Err(e) => return Err(failed(e)),
        };
        let value = json::parse(&text.as_string().unwrap_or_default());
        if (200..300).contains(&status) {
            value
        } else {
            Err(SdkError::from_http(
                status,
                value.ok().and_then(|v| decode::api_error(&v)),
            ))
        }
    }
}

impl Transport for FetchTransport {
    async fn send<B, R>(&self, request: ApiRequest<'_, B>) -> Result<R, SdkError>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let body = request.body.map(json::to_js).transpose()?;
        let request = ApiRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: body.as_ref(),
        };
        let answer = self.send_js(request).await?;
        json::from_js(answer).map_err(|e| SdkError::bad_response(200, e.to_string()))
    }
}

impl Api<FetchTransport> {
    /// Any endpoint with a JS body and a JS answer (see [`FetchTransport::send_js`]).
    pub async fn call_js(
        &self,
        method: Method,
        path: &str,
        body: Option<&JsValue>,
    ) -> Result<JsValue, SdkError> {
        self.transport()
            .send_js(self.prepare(method, path, body))
            .await
    }
}
