//! The fetch transport: sends [`ApiRequest`]s through `js/io.js` (the browser's `fetch`,
//! `JSON.stringify` / `JSON.parse`) and turns its answer into a value or an [`SdkError`]; error
//! bodies are read field by field ([`decode::api_error`]).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::api::{Api, ApiRequest, Method, Transport};
use crate::decode;
use crate::error::SdkError;
use crate::state::Wire;

#[derive(Debug, Default, Clone, Copy)]
pub struct FetchTransport;

#[wasm_bindgen::prelude::wasm_bindgen(module = "/js/io.js")]
extern "C" {
    /// `fetch` with the headers (`[[name, value], ...]`) and a JSON body; resolves to
    /// `[status, parsed JSON or undefined]` (`js/io.js`).
    #[wasm_bindgen(js_name = call)]
    fn fetch_json(
        method: &str,
        url: &str,
        headers: js_sys::Array,
        body: JsValue,
    ) -> js_sys::Promise;
}

impl FetchTransport {
    /// Sends a request whose body is a JS value; answers the parsed JSON as a JS value. The
    /// non-generic path the bindings use: answers stay JS objects, and no serde deserializer
    /// ends up in the wasm. (`fetch`, the headers and JSON are JS, in `js/io.js`: each call
    /// to a browser API made from Rust costs far more wasm than the call itself.)
    pub async fn send_js(&self, request: ApiRequest<'_, JsValue>) -> Result<JsValue, SdkError> {
        let headers = js_sys::Array::new();
        for (name, value) in &request.headers {
            headers.push(&js_sys::Array::of2(&(*name).into(), &value.as_str().into()));
        }
        let body = request.body.cloned().unwrap_or(JsValue::UNDEFINED);
        let answer = JsFuture::from(fetch_json(
            request.method.as_str(),
            &request.url,
            headers,
            body,
        ))
        .await
        .map_err(|e| {
            SdkError::network(
                e.str_of("message")
                    .unwrap_or_else(|| "the request failed".into()),
            )
        })?;
        let answer: js_sys::Array = answer.unchecked_into();
        let status = answer.get(0).as_f64().unwrap_or(0.0) as u16;
        let value = answer.get(1);
        if (200..300).contains(&status) {
            if value.is_undefined() {
                return Err(SdkError::bad_response(0, "the server sent invalid JSON"));
            }
            Ok(value)
        } else {
            Err(SdkError::from_http(status, decode::api_error(&value)))
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
