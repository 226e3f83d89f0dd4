//! The fetch transport: sends [`ApiRequest`]s with gloo-net and decodes answers through
//! `JSON.parse` + serde-wasm-bindgen.

use gloo_net::http::{Method as HttpMethod, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::json;
use crate::api::{ApiRequest, Method, Transport};
use crate::error::SdkError;

#[derive(Debug, Default, Clone, Copy)]
pub struct FetchTransport;

impl Transport for FetchTransport {
    async fn send<B, R>(&self, request: ApiRequest<'_, B>) -> Result<R, SdkError>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
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
            Some(body) => builder
                .header("Content-Type", "application/json")
                .body(json::stringify(body)?),
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
            json::from_js(value?).map_err(|e| SdkError::bad_response(status, e.to_string()))
        } else {
            Err(SdkError::from_http(
                status,
                value.ok().and_then(|v| json::from_js(v).ok()),
            ))
        }
    }
}
