//! The REST API as the SDK uses it: which endpoint, method, headers and body each call takes,
//! and what comes back — over any [`Transport`] (fetch in the browser, a fake in tests).
//! Bodies and answers are generic: natively they are the `chat_protocol` types, in the
//! browser they stay JS objects.

use std::future::Future;

#[cfg(doc)]
use chat_protocol::requests::{ChannelState, CreateChannel, SendMessage};
#[cfg(doc)]
use chat_protocol::Message;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{encode_component, ClientConfig};
use crate::error::SdkError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Parses `GET`, `post`, ... (as JS passes them).
    pub fn parse(name: &str) -> Option<Method> {
        [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

/// One HTTP call: the transport serializes `body` as JSON and deserializes a 2xx answer into
/// the caller's type, or maps a failure with [`SdkError::from_http`].
#[derive(Debug)]
pub struct ApiRequest<'a, B: ?Sized> {
    pub method: Method,
    pub url: String,
    pub headers: [(&'static str, String); 2],
    pub body: Option<&'a B>,
}

/// Sends [`ApiRequest`]s. Implementations decide how JSON is encoded and parsed.
pub trait Transport {
    fn send<B, R>(&self, request: ApiRequest<'_, B>) -> impl Future<Output = Result<R, SdkError>>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned;
}

/// `channel.queryMessages({...})` options; `beforeSeq`/`afterSeq` are accepted as aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MessageQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default, alias = "beforeSeq")]
    pub before_seq: Option<u64>,
    #[serde(default, alias = "afterSeq")]
    pub after_seq: Option<u64>,
}

// The envelopes of `MeResponse`, `MessageResponse` and `MessagesResponse`, generic over the
// payload so the browser build can keep payloads as JS objects instead of decoding and
// re-encoding every field (which costs wasm size and time).
#[derive(Debug, Deserialize)]
struct UserEnvelope<U> {
    user: U,
}

#[derive(Debug, Deserialize)]
struct MessageEnvelope<M> {
    message: M,
}

#[derive(Debug, Deserialize)]
struct MessagesEnvelope<L> {
    messages: L,
}

/// The user-facing REST endpoints, authenticated as the client's user.
#[derive(Debug)]
pub struct Api<T> {
    base: String,
    api_key: String,
    bearer: std::cell::RefCell<String>,
    transport: T,
}

impl<T: Transport> Api<T> {
    pub fn new(config: &ClientConfig, transport: T) -> Self {
        Api {
            base: config.api_url().to_string(),
            api_key: config.api_key.clone(),
            bearer: std::cell::RefCell::new(["Bearer ", &config.token].concat()),
            transport,
        }
    }

    /// The transport the calls go through.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The request for any endpoint (`path` starts with `/v1/` and carries its query string),
    /// with this client's headers.
    pub fn prepare<'a, B: ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&'a B>,
    ) -> ApiRequest<'a, B> {
        self.request(method, [self.base.as_str(), path].concat(), body)
    }

    fn request<'a, B: ?Sized>(
        &self,
        method: Method,
        url: String,
        body: Option<&'a B>,
    ) -> ApiRequest<'a, B> {
        ApiRequest {
            method,
            url,
            headers: [
                ("X-Api-Key", self.api_key.clone()),
                ("Authorization", self.bearer.borrow().clone()),
            ],
            body,
        }
    }

    fn channel_url(&self, channel_type: &str, channel_id: &str) -> String {
        format!(
            "{}/v1/channels/{}/{}",
            self.base,
            encode_component(channel_type),
            encode_component(channel_id)
        )
    }

    /// Uses `token` from now on (after a refresh).
    pub fn set_token(&self, token: &str) {
        *self.bearer.borrow_mut() = ["Bearer ", token].concat();
    }

    /// Any endpoint: `path` starts with `/v1/` and carries its query string.
    pub async fn call<B, R>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, SdkError>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.transport.send(self.prepare(method, path, body)).await
    }

    /// `GET /v1/me`.
    pub async fn me<U: DeserializeOwned>(&self) -> Result<U, SdkError> {
        let url = format!("{}/v1/me", self.base);
        let reply: UserEnvelope<U> = self
            .transport
            .send(self.request::<()>(Method::Get, url, None))
            .await?;
        Ok(reply.user)
    }

    /// `POST /v1/channels/{type}/{id}` with a [`CreateChannel`]-shaped body: get or create
    /// (idempotent); answers a [`ChannelState`].
    pub async fn create_channel<B, S>(
        &self,
        channel_type: &str,
        channel_id: &str,
        body: &B,
    ) -> Result<S, SdkError>
    where
        B: Serialize + ?Sized,
        S: DeserializeOwned,
    {
        let url = self.channel_url(channel_type, channel_id);
        self.transport
            .send(self.request(Method::Post, url, Some(body)))
            .await
    }

    /// `POST /v1/channels/{type}/{id}/messages` with a [`SendMessage`]-shaped body; answers
    /// the stored [`Message`] (a resend of the same id returns it again).
    pub async fn send_message<B, M>(
        &self,
        channel_type: &str,
        channel_id: &str,
        body: &B,
    ) -> Result<M, SdkError>
    where
        B: Serialize + ?Sized,
        M: DeserializeOwned,
    {
        let url = format!("{}/messages", self.channel_url(channel_type, channel_id));
        let reply: MessageEnvelope<M> = self
            .transport
            .send(self.request(Method::Post, url, Some(body)))
            .await?;
        Ok(reply.message)
    }

    /// `GET /v1/channels/{type}/{id}/messages?...`: a list of [`Message`]s, oldest first.
    pub async fn query_messages<L: DeserializeOwned>(
        &self,
        channel_type: &str,
        channel_id: &str,
        query: &MessageQuery,
    ) -> Result<L, SdkError> {
        let mut url = format!("{}/messages", self.channel_url(channel_type, channel_id));
        let params = [
            ("limit", query.limit.map(u64::from)),
            ("before_seq", query.before_seq),
            ("after_seq", query.after_seq),
        ];
        let mut sep = '?';
        for (name, value) in params {
            if let Some(value) = value {
                url.push_str(&format!("{sep}{name}={value}"));
                sep = '&';
            }
        }
        let reply: MessagesEnvelope<L> = self
            .transport
            .send(self.request::<()>(Method::Get, url, None))
            .await?;
        Ok(reply.messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientOptions;
    use chat_protocol::requests::{ChannelState, SendMessage};
    use chat_protocol::{ApiError, ErrorCode, Message, User};
    use serde_json::{json, Value};
    use std::cell::RefCell;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    type SentRequest = (Method, String, Vec<(String, String)>, Option<Value>);

    /// Records requests and answers each with the next canned `(status, body)`.
    #[derive(Default)]
    struct FakeTransport {
        sent: RefCell<Vec<SentRequest>>,
        replies: RefCell<Vec<(u16, Value)>>,
    }

    impl Transport for FakeTransport {
        async fn send<B, R>(&self, request: ApiRequest<'_, B>) -> Result<R, SdkError>
        where
            B: Serialize + ?Sized,
            R: DeserializeOwned,
        {
            let headers = request
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let body = request.body.map(|b| serde_json::to_value(b).unwrap());
            self.sent
                .borrow_mut()
                .push((request.method, request.url, headers, body));
            let (status, reply) = self.replies.borrow_mut().remove(0);
            if (200..300).contains(&status) {
                serde_json::from_value(reply)
                    .map_err(|e| SdkError::bad_response(status, e.to_string()))
            } else {
                Err(SdkError::from_http(
                    status,
                    serde_json::from_value::<ApiError>(reply).ok(),
                ))
            }
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the fake transport never waits"),
        }
    }

    fn api(replies: Vec<(u16, Value)>) -> Api<FakeTransport> {
        let config = ClientConfig::new(ClientOptions {
            api_url: "http://h:1/".into(),
            api_key: "demo".into(),
            user_id: "alice".into(),
            token: "tok".into(),
            device_id: None,
        })
        .unwrap();
        let transport = FakeTransport {
            replies: RefCell::new(replies),
            ..Default::default()
        };
        Api::new(&config, transport)
    }

    fn message_json(id: &str, seq: u64) -> Value {
        json!({"id": id, "cid": "messaging:a b", "channel_seq": seq, "user_id": "alice",
               "text": "hi", "type": "regular", "status": "sent",
               "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"})
    }

    #[test]
    fn send_message_posts_to_the_encoded_channel_with_auth_headers() {
        let api = api(vec![(201, json!({"message": message_json("m1", 4)}))]);
        let body = SendMessage {
            id: "m1".into(),
            text: "hi".into(),
            ..Default::default()
        };
        let msg: Message = run(api.send_message("messaging", "a b", &body)).unwrap();
        assert_eq!((msg.id.as_str(), msg.channel_seq), ("m1", 4));
        let sent = api.transport.sent.borrow();
        let (method, url, headers, body) = &sent[0];
        assert_eq!(*method, Method::Post);
        assert_eq!(url, "http://h:1/v1/channels/messaging/a%20b/messages");
        assert_eq!(
            headers,
            &[
                ("X-Api-Key".into(), "demo".into()),
                ("Authorization".into(), "Bearer tok".into())
            ]
        );
        assert_eq!(body.as_ref().unwrap(), &json!({"id": "m1", "text": "hi"}));
    }

    #[test]
    fn query_messages_builds_the_query_string_from_given_fields_only() {
        let api = api(vec![
            (200, json!({"messages": []})),
            (200, json!({"messages": []})),
        ]);
        let q = MessageQuery {
            limit: Some(50),
            before_seq: None,
            after_seq: Some(7),
        };
        let page: Vec<Message> = run(api.query_messages("messaging", "x", &q)).unwrap();
        assert!(page.is_empty());
        let _: Vec<Message> =
            run(api.query_messages("messaging", "x", &MessageQuery::default())).unwrap();
        let sent = api.transport.sent.borrow();
        assert_eq!(
            sent[0].1,
            "http://h:1/v1/channels/messaging/x/messages?limit=50&after_seq=7"
        );
        assert_eq!(sent[1].1, "http://h:1/v1/channels/messaging/x/messages");
        assert_eq!(sent[0].0, Method::Get);
        assert!(sent[0].3.is_none());
    }

    #[test]
    fn create_channel_posts_the_body_and_decodes_the_state() {
        let state = json!({
            "channel": {"cid": "messaging:x", "id": "x", "type": "messaging",
                        "created_at": "t", "updated_at": "t", "last_seq": 3, "member_count": 2},
            "members": [], "messages": []});
        let api = api(vec![(200, state)]);
        let body = json!({"name": "X", "members": ["bob"]});
        let got: ChannelState = run(api.create_channel("messaging", "x", &body)).unwrap();
        assert_eq!(got.channel.last_seq, 3);
        let sent = api.transport.sent.borrow();
        assert_eq!(
            (sent[0].0, sent[0].1.as_str()),
            (Method::Post, "http://h:1/v1/channels/messaging/x")
        );
        assert_eq!(sent[0].3.as_ref().unwrap(), &body);
    }

    #[test]
    fn undecodable_success_is_a_bad_response() {
        let api = api(vec![(200, json!({"unexpected": true}))]);
        let e = run(api.send_message::<_, Message>("m", "x", &json!({"id": "1"}))).unwrap_err();
        assert_eq!((e.code, e.status), (ErrorCode::Internal, 200));
    }

    #[test]
    fn query_options_accept_camel_case_aliases() {
        let q: MessageQuery = serde_json::from_value(json!({"beforeSeq": 3, "limit": 2})).unwrap();
        assert_eq!(
            q,
            MessageQuery {
                limit: Some(2),
                before_seq: Some(3),
                after_seq: None
            }
        );
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let api = api(vec![(
            403,
            json!({"code": "forbidden", "message": "not a member", "retryable": false}),
        )]);
        let e = run(api.query_messages::<Vec<Message>>("messaging", "x", &MessageQuery::default()))
            .unwrap_err();
        assert_eq!(
            (e.code, e.status, e.retryable),
            (ErrorCode::Forbidden, 403, false)
        );
    }

    #[test]
    fn me_unwraps_the_user() {
        let api = api(vec![(
            200,
            json!({"user": {"id": "alice", "user_type": "regular",
                   "created_at": "t", "updated_at": "t"}}),
        )]);
        let me: User = run(api.me()).unwrap();
        assert_eq!(me.id, "alice");
        assert_eq!(api.transport.sent.borrow()[0].1, "http://h:1/v1/me");
    }
}
