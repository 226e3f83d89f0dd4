//! The fetch transport: sends [`ApiRequest`]s with gloo-net and parses answers with
//! `JSON.parse`; error bodies are read field by field ([`decode::api_error`]).

use gloo_net::http::{Method as HttpMethod, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::json;
use wasm_bindgen::JsValue;

use crate::api::{Api, ApiRequest, Method, Transport};
use crate::decode;
use crate::error::SdkError;

#[derive(Debug, Default, Clone, Copy)]
pub struct FetchTransport;

impl FetchTransport {
    /// Sends a request whose body is a JS value; answers the parsed JSON as a JS value. The
    /// non-generic path the bindings use: answers stay JS objects, and no serde deserializer
    /// ends up in the wasm.
    pub async fn send_js(&self, request: ApiRequest<'_, JsValue>) -> Result<JsValue, SdkError> {
        let method = match request.method {
            Method::Get => HttpMethod::GET,
            Method::Post => HttpMethod::POST,
            Method::Put => HttpMethod::PUT,
            Method::Patch => HttpMethod::PATCH,
            Method::Delete => HttpMethod::DELETE,
        };
        let mut builder = RequestBuilder::new(&request.url).method(method);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let built = match request.body {
            Some(body) => {
                let text = js_sys::JSON::stringify(body)
                    .map(String::from)
                    .map_err(|_| SdkError::invalid_input("value cannot be written as JSON"))?;
                builder
                    .header("Content-Type", "application/json")
                    .body(text)
            }
            None => builder.build(),
        }
        .map_err(|e| SdkError::invalid_input(e.to_string()))?;
        let response = built
            .send()
            .await
            .map_err(|e| SdkError::network(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| SdkError::network(e.to_string()))?;
        let value = json::parse(&text);
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
