//! The connection state machine itself: states, inputs, actions and the rules between them.

use chat_protocol::{ApiError, ClientFrame, CloseCode};

use super::{Backoff, ConnectionState};
use crate::error::SdkError;

/// Give up on a socket that has not produced `connection.ok` within this long.
pub const CONNECT_TIMEOUT_MS: u64 = 15_000;
/// How often adapters should feed [`Input::Tick`].
pub const TICK_INTERVAL_MS: u64 = 2_000;
/// Assumed server health interval until `connection.ok` announces the real one.
const DEFAULT_HEALTH_INTERVAL_MS: u64 = 10_000;
/// Added to twice the health interval before a silent connection is declared dead.
const HEALTH_SLACK_MS: u64 = 5_000;

/// Client-side close codes (the browser allows 1000 and 3000–4999).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_HEALTH_TIMEOUT: u16 = CloseCode::HealthCheckTimeout as u16;

/// The parts of a server frame the connection cares about.
#[derive(Debug, Clone, PartialEq)]
pub enum IncomingFrame {
    ConnectionOk {
        health_interval_ms: u32,
    },
    HealthCheck,
    Error(ApiError),
    /// Any other frame: only proves the connection is alive.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Begin the first connection.
    Start,
    SocketOpened,
    Frame(IncomingFrame),
    /// The socket closed (or failed to open: code 1006).
    SocketClosed {
        code: u16,
    },
    /// Periodic timer, every [`TICK_INTERVAL_MS`].
    Tick,
    /// The delay of the last [`Action::ScheduleReconnect`] has passed.
    ReconnectDue,
    NetworkOnline,
    NetworkOffline,
    DisconnectRequested,
    /// The page became visible again: a pending reconnect is tried now.
    Visible,
    /// The token provider produced a fresh token (after [`Action::RefreshToken`]).
    TokenRefreshed,
    /// The token provider failed: the connection ends with this error.
    TokenRefreshFailed(SdkError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a new socket to the configured websocket URL.
    OpenSocket,
    Send(ClientFrame),
    /// Close and forget the current socket; its close event must not be fed back.
    CloseSocket {
        code: u16,
        reason: &'static str,
    },
    /// Feed [`Input::ReconnectDue`] after this delay (replaces any earlier schedule).
    ScheduleReconnect {
        delay_ms: u64,
    },
    /// Emit `connection.changed`.
    StateChanged(ConnectionState),
    /// The first connection succeeded: settle `connect()`.
    Connected,
    /// The first connection failed: reject `connect()` with this error.
    ConnectFailed(SdkError),
    /// The token expired: get a new one from the token provider, then feed
    /// [`Input::TokenRefreshed`] (or [`Input::TokenRefreshFailed`]).
    RefreshToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Socket {
    None,
    /// Opened or opening at this time, no `connection.ok` yet.
    Handshaking {
        since_ms: u64,
    },
    /// `connection.ok` received.
    Ready,
}

#[derive(Debug, Clone)]
pub struct ConnectionMachine {
    state: ConnectionState,
    socket: Socket,
    backoff: Backoff,
    reconnect_scheduled: bool,
    first_connect_pending: bool,
    last_heard_ms: u64,
    health_interval_ms: u64,
    /// The `error` frame received during the handshake, reported if the close is terminal.
    handshake_error: Option<ApiError>,
    /// Why the connection closed for good, when it was not the caller's choice.
    close_error: Option<SdkError>,
    /// A token provider exists: an expired token is refreshed instead of ending the session.
    can_refresh: bool,
    refreshing: bool,
    /// `connect()` already resolved (opened from the cache): a first connection that cannot
    /// reach the server retries like any later one instead of failing the session.
    resilient_start: bool,
}

impl ConnectionMachine {
    /// `seed` seeds the reconnect jitter.
    pub fn new(seed: u64) -> Self {
        ConnectionMachine {
            state: ConnectionState::Connecting,
            socket: Socket::None,
            backoff: Backoff::new(seed),
            reconnect_scheduled: false,
            first_connect_pending: false,
            last_heard_ms: 0,
            health_interval_ms: DEFAULT_HEALTH_INTERVAL_MS,
            handshake_error: None,
            close_error: None,
            can_refresh: false,
            refreshing: false,
            resilient_start: false,
        }
    }

    /// The session is usable before the first connection (from the cache): an unreachable
    /// server means retrying with backoff, not failing `connect()`. Terminal refusals (bad
    /// credentials) still end the session.
    pub fn resilient_start(&mut self) {
        self.resilient_start = true;
    }

    /// Refresh expired tokens through [`Action::RefreshToken`].
    pub fn with_token_refresh(mut self) -> Self {
        self.can_refresh = true;
        self
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Why the connection ended, when the server ended it for good.
    pub fn close_error(&self) -> Option<&SdkError> {
        self.close_error.as_ref()
    }

    /// Applies one input at time `now_ms` (any monotonic millisecond clock) and returns the
    /// actions to perform, in order.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Start => {
                if self.state == ConnectionState::Connecting && self.socket == Socket::None {
                    self.first_connect_pending = !self.resilient_start;
                    self.open(now_ms, &mut out);
                }
            }
            Input::SocketOpened => {
                if self.socket != Socket::None {
                    self.last_heard_ms = now_ms;
                }
            }
            Input::Frame(frame) => {
                if self.socket != Socket::None {
                    self.last_heard_ms = now_ms;
                    self.on_frame(frame, &mut out);
                }
            }
            Input::SocketClosed { code } => {
                if self.socket != Socket::None {
                    self.socket = Socket::None;
                    self.on_lost(code, &mut out);
                }
            }
            Input::Tick => self.on_tick(now_ms, &mut out),
            Input::ReconnectDue => {
                if self.reconnect_scheduled && self.state == ConnectionState::Reconnecting {
                    self.reconnect_scheduled = false;
                    self.open(now_ms, &mut out);
                }
            }
            Input::NetworkOffline => {
                if matches!(
                    self.state,
                    ConnectionState::Closed | ConnectionState::Offline
                ) {
                    return out;
                }
                self.drop_socket(CLOSE_NORMAL, "network offline", &mut out);
                self.reconnect_scheduled = false;
                if self.first_connect_pending {
                    self.fail(SdkError::network("the browser is offline"), &mut out);
                } else {
                    self.set_state(ConnectionState::Offline, &mut out);
                }
            }
            Input::NetworkOnline => {
                if self.state == ConnectionState::Offline {
                    self.backoff.reset();
                    self.set_state(ConnectionState::Reconnecting, &mut out);
                    self.open(now_ms, &mut out);
                } else if self.reconnect_scheduled && self.state == ConnectionState::Reconnecting {
                    // The network changed while a backoff was pending (the browser need not
                    // have reported `offline` first): worth trying now, like `Visible`.
                    self.reconnect_scheduled = false;
                    self.open(now_ms, &mut out);
                }
            }
            Input::Visible => {
                if self.reconnect_scheduled && self.state == ConnectionState::Reconnecting {
                    self.reconnect_scheduled = false;
                    self.open(now_ms, &mut out);
                }
            }
            Input::TokenRefreshed => {
                if self.refreshing && self.state != ConnectionState::Closed {
                    self.refreshing = false;
                    self.open(now_ms, &mut out);
                }
            }
            Input::TokenRefreshFailed(error) => {
                if self.refreshing && self.state != ConnectionState::Closed {
                    self.refreshing = false;
                    self.fail(error, &mut out);
                }
            }
            Input::DisconnectRequested => {
                self.refreshing = false;
                if self.state == ConnectionState::Closed {
                    return out;
                }
                self.drop_socket(CLOSE_NORMAL, "client disconnect", &mut out);
                self.reconnect_scheduled = false;
                if self.first_connect_pending {
                    self.first_connect_pending = false;
                    out.push(Action::ConnectFailed(SdkError::closed()));
                }
                self.set_state(ConnectionState::Closed, &mut out);
            }
        }
        out
    }

    fn on_frame(&mut self, frame: IncomingFrame, out: &mut Vec<Action>) {
        match frame {
            IncomingFrame::ConnectionOk { health_interval_ms } => {
                self.socket = Socket::Ready;
                self.health_interval_ms = u64::from(health_interval_ms).max(1_000);
                self.handshake_error = None;
                self.backoff.reset();
                self.set_state(ConnectionState::Online, out);
                if self.first_connect_pending {
                    self.first_connect_pending = false;
                    out.push(Action::Connected);
                }
            }
            IncomingFrame::HealthCheck => out.push(Action::Send(ClientFrame::HealthCheck {})),
            IncomingFrame::Error(error) => {
                if self.socket != Socket::Ready {
                    self.handshake_error = Some(error);
                }
            }
            IncomingFrame::Other => {}
        }
    }

    fn on_tick(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        match self.socket {
            Socket::Handshaking { since_ms }
                if now_ms.saturating_sub(since_ms) >= CONNECT_TIMEOUT_MS =>
            {
                self.drop_socket(CLOSE_NORMAL, "handshake timeout", out);
                self.on_lost(CloseCode::TryAgainLater as u16, out);
            }
            Socket::Ready
                if now_ms.saturating_sub(self.last_heard_ms)
                    > 2 * self.health_interval_ms + HEALTH_SLACK_MS =>
            {
                self.drop_socket(CLOSE_HEALTH_TIMEOUT, "health check timeout", out);
                self.on_lost(CLOSE_HEALTH_TIMEOUT, out);
            }
            _ => {}
        }
    }

    /// The socket is gone (closed by the server, failed, or dropped by us for silence).
    fn on_lost(&mut self, code: u16, out: &mut Vec<Action>) {
        if matches!(
            self.state,
            ConnectionState::Closed | ConnectionState::Offline
        ) {
            return;
        }
        let handshake_error = self.handshake_error.take();
        let expired = code == CloseCode::TokenExpired as u16
            || handshake_error
                .as_ref()
                .is_some_and(|e| e.code == chat_protocol::ErrorCode::TokenExpired);
        if expired && self.can_refresh {
            self.refreshing = true;
            if !self.first_connect_pending {
                self.set_state(ConnectionState::Reconnecting, out);
            }
            out.push(Action::RefreshToken);
            return;
        }
        let terminal = !CloseCode::should_reconnect(code);
        if terminal || self.first_connect_pending {
            let error = match handshake_error {
                Some(e) => SdkError::from_api(0, e),
                None => SdkError::from_close_code(code),
            };
            self.fail(error, out);
        } else {
            let delay_ms = self.backoff.next_delay_ms();
            self.reconnect_scheduled = true;
            self.set_state(ConnectionState::Reconnecting, out);
            out.push(Action::ScheduleReconnect { delay_ms });
        }
    }

    /// Ends the connection for good: rejects a pending `connect()` or records why it closed.
    fn fail(&mut self, error: SdkError, out: &mut Vec<Action>) {
        if self.first_connect_pending {
            self.first_connect_pending = false;
            out.push(Action::ConnectFailed(error.clone()));
        }
        self.close_error = Some(error);
        self.set_state(ConnectionState::Closed, out);
    }

    fn open(&mut self, now_ms: u64, out: &mut Vec<Action>) {
        self.socket = Socket::Handshaking { since_ms: now_ms };
        self.last_heard_ms = now_ms;
        out.push(Action::OpenSocket);
    }

    fn drop_socket(&mut self, code: u16, reason: &'static str, out: &mut Vec<Action>) {
        if self.socket != Socket::None {
            self.socket = Socket::None;
            out.push(Action::CloseSocket { code, reason });
        }
    }

    fn set_state(&mut self, state: ConnectionState, out: &mut Vec<Action>) {
        if self.state != state {
            self.state = state;
            out.push(Action::StateChanged(state));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::ErrorCode;

    const OK: IncomingFrame = IncomingFrame::ConnectionOk {
        health_interval_ms: 10_000,
    };

    fn online() -> ConnectionMachine {
        let mut m = ConnectionMachine::new(42);
        m.handle(0, Input::Start);
        m.handle(5, Input::SocketOpened);
        m.handle(10, Input::Frame(OK));
        assert_eq!(m.state(), ConnectionState::Online);
        m
    }

    fn delay_of(actions: &[Action]) -> u64 {
        actions
            .iter()
            .find_map(|a| match a {
                Action::ScheduleReconnect { delay_ms } => Some(*delay_ms),
                _ => None,
            })
            .expect("a reconnect was scheduled")
    }

    #[test]
    fn an_expired_token_is_refreshed_then_the_socket_reopens() {
        let mut m = ConnectionMachine::new(1).with_token_refresh();
        m.handle(0, Input::Start);
        m.handle(1, Input::Frame(OK));
        let out = m.handle(2, Input::SocketClosed { code: 4002 });
        assert_eq!(
            out,
            [
                Action::StateChanged(ConnectionState::Reconnecting),
                Action::RefreshToken
            ]
        );
        assert_eq!(m.handle(3, Input::TokenRefreshed), [Action::OpenSocket]);
        assert_eq!(
            m.handle(4, Input::TokenRefreshed),
            [],
            "only once per refresh"
        );
        m.handle(5, Input::SocketClosed { code: 4002 });
        let out = m.handle(6, Input::TokenRefreshFailed(SdkError::network("x")));
        assert!(out.contains(&Action::StateChanged(ConnectionState::Closed)));
    }

    #[test]
    fn without_a_provider_an_expired_token_ends_the_session() {
        let mut m = online();
        let out = m.handle(20, Input::SocketClosed { code: 4002 });
        assert!(out.contains(&Action::StateChanged(ConnectionState::Closed)));
        assert_eq!(m.close_error().unwrap().code, ErrorCode::TokenExpired);
    }

    #[test]
    fn becoming_visible_retries_a_pending_reconnect_now() {
        let mut m = online();
        m.handle(20, Input::SocketClosed { code: 1006 });
        assert_eq!(m.handle(21, Input::Visible), [Action::OpenSocket]);
        assert_eq!(m.handle(22, Input::Visible), [], "nothing pending any more");
    }

    #[test]
    fn online_during_backoff_retries_the_pending_reconnect_now() {
        let mut m = online();
        m.handle(20, Input::SocketClosed { code: 1006 });
        assert_eq!(m.handle(21, Input::NetworkOnline), [Action::OpenSocket]);
        assert_eq!(
            m.handle(22, Input::NetworkOnline),
            [],
            "nothing pending any more"
        );
        assert!(
            m.handle(5_000, Input::ReconnectDue).is_empty(),
            "the old schedule is void"
        );
    }

    #[test]
    fn first_connect_opens_then_goes_online_on_connection_ok() {
        let mut m = ConnectionMachine::new(1);
        assert_eq!(m.handle(0, Input::Start), vec![Action::OpenSocket]);
        assert_eq!(m.state(), ConnectionState::Connecting);
        assert!(m.handle(1, Input::SocketOpened).is_empty());
        assert_eq!(
            m.handle(2, Input::Frame(OK)),
            vec![
                Action::StateChanged(ConnectionState::Online),
                Action::Connected
            ]
        );
        // A second Start is a no-op.
        assert!(m.handle(3, Input::Start).is_empty());
    }

    #[test]
    fn answers_the_servers_health_check() {
        let mut m = online();
        assert_eq!(
            m.handle(20, Input::Frame(IncomingFrame::HealthCheck)),
            vec![Action::Send(ClientFrame::HealthCheck {})]
        );
    }

    #[test]
    fn bad_credentials_reject_connect_with_the_servers_error() {
        let mut m = ConnectionMachine::new(1);
        m.handle(0, Input::Start);
        m.handle(1, Input::SocketOpened);
        let err = ApiError::new(ErrorCode::InvalidToken, "signature mismatch");
        assert!(m
            .handle(2, Input::Frame(IncomingFrame::Error(err)))
            .is_empty());
        let actions = m.handle(3, Input::SocketClosed { code: 4001 });
        let Action::ConnectFailed(e) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(e.code, ErrorCode::InvalidToken);
        assert_eq!(e.message, "signature mismatch");
        assert_eq!(actions[1], Action::StateChanged(ConnectionState::Closed));
        assert!(!actions
            .iter()
            .any(|a| matches!(a, Action::ScheduleReconnect { .. })));
    }

    #[test]
    fn terminal_close_without_error_frame_maps_the_close_code() {
        let mut m = ConnectionMachine::new(1);
        m.handle(0, Input::Start);
        let actions = m.handle(3, Input::SocketClosed { code: 4004 });
        let Action::ConnectFailed(e) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(e.code, ErrorCode::UnknownApiKey);
    }

    #[test]
    fn a_session_opened_from_the_cache_retries_an_unreachable_server() {
        let mut m = ConnectionMachine::new(1);
        m.resilient_start();
        m.handle(0, Input::Start);
        let actions = m.handle(3, Input::SocketClosed { code: 1006 });
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::ScheduleReconnect { .. })),
            "{actions:?}"
        );
        assert!(!actions.iter().any(|a| matches!(a, Action::ConnectFailed(_))));
        assert_eq!(m.state(), ConnectionState::Reconnecting);
        // Bad credentials still end it.
        let mut m = ConnectionMachine::new(1);
        m.resilient_start();
        m.handle(0, Input::Start);
        m.handle(3, Input::SocketClosed { code: 4001 });
        assert_eq!(m.state(), ConnectionState::Closed);
    }

    #[test]
    fn unreachable_server_fails_the_first_connect_as_retryable() {
        let mut m = ConnectionMachine::new(1);
        m.handle(0, Input::Start);
        let actions = m.handle(3, Input::SocketClosed { code: 1006 });
        let Action::ConnectFailed(e) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(e.code, ErrorCode::Unavailable);
        assert!(e.retryable);
        assert_eq!(m.state(), ConnectionState::Closed);
    }

    #[test]
    fn lost_connection_reconnects_with_growing_backoff_and_resets_on_success() {
        let mut m = online();
        let a = m.handle(100, Input::SocketClosed { code: 1006 });
        assert_eq!(a[0], Action::StateChanged(ConnectionState::Reconnecting));
        let first = delay_of(&a);
        assert_eq!(first, MIN_DELAY_MS_FOR_TEST);
        let mut last = first;
        for i in 0..6 {
            assert_eq!(
                m.handle(200 + i, Input::ReconnectDue),
                vec![Action::OpenSocket]
            );
            let a = m.handle(300 + i, Input::SocketClosed { code: 1006 });
            // Still reconnecting: no new state change is announced.
            assert_eq!(a.len(), 1);
            let d = delay_of(&a);
            assert!(
                d >= last,
                "below the cap delays never shrink: {last} -> {d}"
            );
            last = d;
        }
        assert!(
            last >= 4_000,
            "after 7 failures the delay is in the seconds: {last}"
        );
        m.handle(1000, Input::ReconnectDue);
        let a = m.handle(1001, Input::Frame(OK));
        assert_eq!(
            a,
            vec![Action::StateChanged(ConnectionState::Online)],
            "no second Connected"
        );
        let a = m.handle(1002, Input::SocketClosed { code: 1001 });
        assert_eq!(
            delay_of(&a),
            MIN_DELAY_MS_FOR_TEST,
            "backoff was reset by connection.ok"
        );
    }

    const MIN_DELAY_MS_FOR_TEST: u64 = super::super::MIN_DELAY_MS;

    #[test]
    fn terminal_close_while_online_stops_reconnecting() {
        let mut m = online();
        let err = ApiError::new(ErrorCode::TokenRevoked, "revoked");
        m.handle(20, Input::Frame(IncomingFrame::Error(err)));
        let a = m.handle(21, Input::SocketClosed { code: 4003 });
        assert_eq!(a, vec![Action::StateChanged(ConnectionState::Closed)]);
        assert_eq!(m.close_error().unwrap().code, ErrorCode::TokenRevoked);
        assert!(m.handle(30_000, Input::ReconnectDue).is_empty());
        assert!(m.handle(30_001, Input::Tick).is_empty());
    }

    #[test]
    fn server_normal_close_is_terminal() {
        let mut m = online();
        let a = m.handle(21, Input::SocketClosed { code: 1000 });
        assert_eq!(a, vec![Action::StateChanged(ConnectionState::Closed)]);
    }

    #[test]
    fn silent_connection_is_dropped_and_reconnected() {
        let mut m = online();
        // Heard at 10; dead after 2 * 10 s + 5 s of silence.
        assert!(m.handle(25_010, Input::Tick).is_empty());
        m.handle(20_000, Input::Frame(IncomingFrame::HealthCheck));
        assert!(
            m.handle(45_000, Input::Tick).is_empty(),
            "the health check refreshed liveness"
        );
        let a = m.handle(45_001, Input::Tick);
        assert_eq!(
            a[0],
            Action::CloseSocket {
                code: 4100,
                reason: "health check timeout"
            }
        );
        assert_eq!(a[1], Action::StateChanged(ConnectionState::Reconnecting));
        delay_of(&a);
        // The dropped socket's late close event is ignored.
        assert!(m
            .handle(45_002, Input::SocketClosed { code: 1006 })
            .is_empty());
    }

    #[test]
    fn health_interval_comes_from_connection_ok() {
        let mut m = ConnectionMachine::new(1);
        m.handle(0, Input::Start);
        m.handle(
            0,
            Input::Frame(IncomingFrame::ConnectionOk {
                health_interval_ms: 2_000,
            }),
        );
        assert!(m.handle(9_000, Input::Tick).is_empty());
        assert!(!m.handle(9_001, Input::Tick).is_empty());
    }

    #[test]
    fn handshake_timeout_gives_up_on_a_stuck_socket() {
        let mut m = online();
        m.handle(100, Input::SocketClosed { code: 1006 });
        m.handle(400, Input::ReconnectDue);
        assert!(m
            .handle(400 + CONNECT_TIMEOUT_MS - 1, Input::Tick)
            .is_empty());
        let a = m.handle(400 + CONNECT_TIMEOUT_MS, Input::Tick);
        assert!(matches!(a[0], Action::CloseSocket { .. }));
        delay_of(&a);
        assert_eq!(m.state(), ConnectionState::Reconnecting);
    }

    #[test]
    fn disconnect_closes_the_socket_and_silences_everything_after() {
        let mut m = online();
        let a = m.handle(50, Input::DisconnectRequested);
        assert_eq!(
            a,
            vec![
                Action::CloseSocket {
                    code: 1000,
                    reason: "client disconnect"
                },
                Action::StateChanged(ConnectionState::Closed)
            ]
        );
        assert!(m.handle(51, Input::SocketClosed { code: 1000 }).is_empty());
        assert!(m
            .handle(52, Input::Frame(IncomingFrame::HealthCheck))
            .is_empty());
        assert!(m.handle(53, Input::NetworkOnline).is_empty());
        assert!(m.handle(54, Input::DisconnectRequested).is_empty());
        assert!(m.close_error().is_none());
    }

    #[test]
    fn disconnect_while_waiting_to_reconnect_cancels_the_attempt() {
        let mut m = online();
        m.handle(100, Input::SocketClosed { code: 1006 });
        let a = m.handle(101, Input::DisconnectRequested);
        assert_eq!(a, vec![Action::StateChanged(ConnectionState::Closed)]);
        assert!(m.handle(5_000, Input::ReconnectDue).is_empty());
    }

    #[test]
    fn offline_pauses_and_online_reconnects_immediately() {
        let mut m = online();
        let a = m.handle(100, Input::NetworkOffline);
        assert_eq!(
            a,
            vec![
                Action::CloseSocket {
                    code: 1000,
                    reason: "network offline"
                },
                Action::StateChanged(ConnectionState::Offline)
            ]
        );
        assert!(m.handle(60_000, Input::Tick).is_empty());
        assert!(m.handle(60_001, Input::ReconnectDue).is_empty());
        let a = m.handle(60_002, Input::NetworkOnline);
        assert_eq!(
            a,
            vec![
                Action::StateChanged(ConnectionState::Reconnecting),
                Action::OpenSocket
            ]
        );
        m.handle(60_003, Input::Frame(OK));
        assert_eq!(m.state(), ConnectionState::Online);
    }

    #[test]
    fn offline_during_backoff_cancels_the_pending_reconnect() {
        let mut m = online();
        m.handle(100, Input::SocketClosed { code: 1006 });
        assert_eq!(
            m.handle(101, Input::NetworkOffline),
            vec![Action::StateChanged(ConnectionState::Offline)]
        );
        assert!(m.handle(5_000, Input::ReconnectDue).is_empty());
    }

    #[test]
    fn error_frames_after_connection_ok_do_not_poison_later_closes() {
        let mut m = online();
        let err = ApiError::new(ErrorCode::InvalidFrame, "bad frame");
        m.handle(20, Input::Frame(IncomingFrame::Error(err)));
        let a = m.handle(21, Input::SocketClosed { code: 1006 });
        delay_of(&a);
        assert!(m.close_error().is_none());
    }
}
