//! Client configuration: the server address, api key and user credentials a client connects
//! with, validated once, and the URLs derived from them (REST base, websocket endpoint).

use crate::error::SdkError;
use serde::Deserialize;

/// What `ChatClient.connect(options)` receives (camelCase in JS).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientOptions {
    pub api_url: String,
    pub api_key: String,
    pub user_id: String,
    /// Optional when a `tokenProvider` is given (it is asked for the first token).
    #[serde(default)]
    pub token: String,
    /// Identifies this device/tab to the server (optional).
    #[serde(default)]
    pub device_id: Option<String>,
}

/// Validated options. The api URL never ends with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    api_url: String,
    pub api_key: String,
    pub user_id: String,
    pub token: String,
    pub device_id: Option<String>,
}

impl ClientConfig {
    pub fn new(options: ClientOptions) -> Result<Self, SdkError> {
        let api_url = options.api_url.trim().trim_end_matches('/').to_string();
        let host = api_url
            .strip_prefix("http://")
            .or_else(|| api_url.strip_prefix("https://"));
        if host.is_none_or(str::is_empty) {
            return Err(SdkError::invalid_input(
                [
                    "apiUrl must be an http:// or https:// URL, got '",
                    &options.api_url,
                    "'",
                ]
                .concat(),
            ));
        }
        for (name, value) in [
            ("apiKey", &options.api_key),
            ("userId", &options.user_id),
            ("token", &options.token),
        ] {
            if value.trim().is_empty() {
                return Err(SdkError::invalid_input(
                    [name, " must not be empty"].concat(),
                ));
            }
        }
        Ok(ClientConfig {
            api_url,
            api_key: options.api_key,
            user_id: options.user_id,
            token: options.token,
            device_id: options.device_id.filter(|d| !d.is_empty()),
        })
    }

    /// The REST base, e.g. `http://127.0.0.1:8080`.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The websocket endpoint with credentials in the query, e.g.
    /// `ws://127.0.0.1:8080/v1/ws?api_key=demo&token=...`.
    pub fn ws_url(&self) -> String {
        self.ws_url_with(&self.token)
    }

    /// The websocket endpoint with another token (after a refresh).
    pub fn ws_url_with(&self, token: &str) -> String {
        // `api_url` is validated to start with one of the two (no slicing: its panic path
        // brings string formatting into the wasm).
        let (scheme, host) = match self.api_url.strip_prefix("https://") {
            Some(rest) => ("wss://", rest),
            None => (
                "ws://",
                self.api_url.strip_prefix("http://").unwrap_or_default(),
            ),
        };
        let mut url = [
            scheme,
            host,
            "/v1/ws?api_key=",
            &encode_component(&self.api_key),
            "&token=",
            &encode_component(token),
        ]
        .concat();
        if let Some(device) = &self.device_id {
            url.push_str("&device_id=");
            url.push_str(&encode_component(device));
        }
        url
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters, for path segments and
/// query values.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::ErrorCode;

    fn options(url: &str) -> ClientOptions {
        ClientOptions {
            api_url: url.into(),
            api_key: "demo".into(),
            user_id: "alice".into(),
            token: "a.b+c".into(),
            device_id: None,
        }
    }

    #[test]
    fn ws_url_follows_the_api_scheme() {
        let c = ClientConfig::new(options("http://127.0.0.1:8080/")).unwrap();
        assert_eq!(c.api_url(), "http://127.0.0.1:8080");
        assert_eq!(
            c.ws_url(),
            "ws://127.0.0.1:8080/v1/ws?api_key=demo&token=a.b%2Bc"
        );
        let c = ClientConfig::new(options("https://chat.example")).unwrap();
        assert!(c.ws_url().starts_with("wss://chat.example/v1/ws?"));
    }

    #[test]
    fn device_id_is_appended_when_given() {
        let mut o = options("http://h");
        o.device_id = Some("tab 1".into());
        let c = ClientConfig::new(o).unwrap();
        assert!(c.ws_url().ends_with("&device_id=tab%201"));
    }

    #[test]
    fn rejects_bad_options() {
        let e = ClientConfig::new(options("ftp://x")).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::InvalidInput, 0));
        assert!(ClientConfig::new(options("http://")).is_err());
        let mut o = options("http://h");
        o.token = " ".into();
        assert!(ClientConfig::new(o).unwrap_err().message.contains("token"));
    }

    #[test]
    fn encodes_non_unreserved_bytes() {
        assert_eq!(encode_component("a b/é~"), "a%20b%2F%C3%A9~");
    }
}
