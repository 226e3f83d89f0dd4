//! The websocket connection lifecycle, sans I/O: [`ConnectionMachine`] turns what happened
//! (socket opened, frame arrived, socket closed with a code, timer ticked, caller disconnected,
//! network went away) into what to do (open/close the socket, send a frame, schedule a
//! reconnect, announce a state change). Adapters perform the actions; nothing here touches a
//! socket, a timer or a clock.

mod backoff;
mod machine;

pub use backoff::{Backoff, MAX_DELAY_MS, MIN_DELAY_MS};
pub use machine::{
    Action, ConnectionMachine, IncomingFrame, Input, CONNECT_TIMEOUT_MS, TICK_INTERVAL_MS,
};

/// Where the client's realtime connection stands, as JS sees it (`client.connectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// The first connection attempt is under way.
    Connecting,
    /// `connection.ok` arrived; events flow.
    Online,
    /// The browser reports no network; waiting for it to come back.
    Offline,
    /// The connection was lost; attempts continue with backoff.
    Reconnecting,
    /// Disconnected by the caller, or refused for good (bad credentials). Terminal.
    Closed,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Online => "online",
            ConnectionState::Offline => "offline",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Closed => "closed",
        }
    }

    pub fn is_online(self) -> bool {
        self == ConnectionState::Online
    }
}
