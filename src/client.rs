//! The client core: one connection state machine, one event dispatcher and the per-channel
//! sequence cursors, combined so that every incoming frame takes the same path — update the
//! connection, drop duplicates, note gaps, pick the listeners. Platform-free; the browser
//! bindings wrap it in a `RefCell` and invoke the listeners it returns.

use crate::connection::{Action, ConnectionMachine, ConnectionState, Input};
use crate::events::{Dispatcher, SubscriptionId};
use crate::frame::FrameHeader;
use crate::sequence::{SeqOutcome, SeqTracker};

/// A range of channel events that never arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub cid: String,
    pub missing_from: u64,
    pub missing_to: u64,
}

/// What to do with one incoming frame.
#[derive(Debug)]
pub struct Delivery<L> {
    /// Connection actions (e.g. answer a health check).
    pub actions: Vec<Action>,
    /// Who gets the frame; empty for a duplicate.
    pub listeners: Vec<(SubscriptionId, L)>,
    pub gap: Option<Gap>,
}

#[derive(Debug)]
pub struct ClientCore<L> {
    machine: ConnectionMachine,
    events: Dispatcher<L>,
    seqs: SeqTracker,
}

impl<L: Clone> ClientCore<L> {
    pub fn new(jitter_seed: u64) -> Self {
        ClientCore {
            machine: ConnectionMachine::new(jitter_seed),
            events: Dispatcher::new(),
            seqs: SeqTracker::new(),
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.machine.state()
    }

    pub fn machine(&self) -> &ConnectionMachine {
        &self.machine
    }

    pub fn events(&mut self) -> &mut Dispatcher<L> {
        &mut self.events
    }

    pub fn is_subscribed(&self, id: SubscriptionId) -> bool {
        self.events.is_subscribed(id)
    }

    pub fn seqs(&mut self) -> &mut SeqTracker {
        &mut self.seqs
    }

    /// Feeds a connection input (anything but a frame).
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Action> {
        self.machine.handle(now_ms, input)
    }

    /// Feeds one incoming frame.
    pub fn receive(&mut self, now_ms: u64, frame: &FrameHeader) -> Delivery<L> {
        let actions = self
            .machine
            .handle(now_ms, Input::Frame(frame.to_incoming()));
        let mut gap = None;
        if let Some((cid, seq)) = frame.channel_position() {
            match self.seqs.observe(cid, seq) {
                SeqOutcome::Duplicate => {
                    return Delivery {
                        actions,
                        listeners: Vec::new(),
                        gap: None,
                    };
                }
                SeqOutcome::Gap {
                    missing_from,
                    missing_to,
                } => {
                    gap = Some(Gap {
                        cid: cid.to_string(),
                        missing_from,
                        missing_to,
                    });
                }
                SeqOutcome::InOrder => {}
            }
        }
        let listeners = self.events.listeners_for(&frame.kind, frame.channel_cid());
        Delivery {
            actions,
            listeners,
            gap,
        }
    }

    /// Listeners of `connection.changed`.
    pub fn connection_listeners(&self) -> Vec<(SubscriptionId, L)> {
        self.events.listeners_for("connection.changed", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::ClientFrame;

    fn frame(json: &str) -> FrameHeader {
        serde_json::from_str(json).unwrap()
    }

    fn names(d: &Delivery<&'static str>) -> Vec<&'static str> {
        d.listeners.iter().map(|(_, l)| *l).collect()
    }

    fn online_core() -> ClientCore<&'static str> {
        let mut core = ClientCore::new(1);
        core.handle(0, Input::Start);
        let ok = frame(r#"{"type":"connection.ok","health_interval_ms":10000}"#);
        core.receive(1, &ok);
        assert_eq!(core.state(), ConnectionState::Online);
        core
    }

    #[test]
    fn a_redelivered_message_reaches_listeners_once() {
        let mut core = online_core();
        core.events().subscribe("message.new", None, "client");
        core.events()
            .subscribe("message.new", Some("messaging:a"), "channel-a");
        core.events()
            .subscribe("message.new", Some("messaging:b"), "channel-b");
        let ev = frame(r#"{"type":"message.new","cid":"messaging:a","channel_seq":1}"#);
        assert_eq!(names(&core.receive(2, &ev)), ["client", "channel-a"]);
        let again = core.receive(3, &ev);
        assert!(again.listeners.is_empty());
        assert!(again.gap.is_none());
    }

    #[test]
    fn a_skipped_sequence_is_delivered_and_reported() {
        let mut core = online_core();
        core.events().subscribe("*", None, "all");
        core.receive(
            2,
            &frame(r#"{"type":"member.added","cid":"m:a","channel_seq":1}"#),
        );
        let d = core.receive(
            3,
            &frame(r#"{"type":"message.new","cid":"m:a","channel_seq":4}"#),
        );
        assert_eq!(names(&d), ["all"]);
        assert_eq!(
            d.gap,
            Some(Gap {
                cid: "m:a".into(),
                missing_from: 2,
                missing_to: 3
            })
        );
    }

    #[test]
    fn health_checks_are_answered_and_still_dispatched() {
        let mut core = online_core();
        core.events().subscribe("health.check", None, "hc");
        let d = core.receive(2, &frame(r#"{"type":"health.check","connection_id":"c"}"#));
        assert_eq!(d.actions, vec![Action::Send(ClientFrame::HealthCheck {})]);
        assert_eq!(names(&d), ["hc"]);
    }

    #[test]
    fn connection_listeners_exclude_channel_scoped_ones() {
        let mut core: ClientCore<&str> = ClientCore::new(1);
        core.events()
            .subscribe("connection.changed", None, "global");
        core.events().subscribe("*", Some("m:a"), "channel");
        let got: Vec<_> = core
            .connection_listeners()
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(got, ["global"]);
    }
}
