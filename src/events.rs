//! The event dispatcher: who listens to which events. Listeners subscribe to one event type
//! (`message.new`) or to every event (`*`), optionally only for one channel (cid). Dispatch
//! hands back the matching listeners in subscription order; the caller invokes them with no
//! borrow held, so a listener may subscribe or unsubscribe while being called.

/// Subscribes to every event type.
pub const ANY_EVENT: &str = "*";

/// Identifies one subscription; pass it to [`Dispatcher::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

#[derive(Debug)]
struct Subscription<L> {
    id: SubscriptionId,
    event: String,
    cid: Option<String>,
    listener: L,
}

/// Listeners of type `L` (a JS function in the browser, a closure in tests).
#[derive(Debug)]
pub struct Dispatcher<L> {
    next_id: u64,
    subscriptions: Vec<Subscription<L>>,
}

impl<L> Default for Dispatcher<L> {
    fn default() -> Self {
        Dispatcher {
            next_id: 1,
            subscriptions: Vec::new(),
        }
    }
}

impl<L: Clone> Dispatcher<L> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens to `event` (or [`ANY_EVENT`]); with `cid`, only to events of that channel.
    pub fn subscribe(&mut self, event: &str, cid: Option<&str>, listener: L) -> SubscriptionId {
        let id = SubscriptionId(self.next_id);
        self.next_id += 1;
        self.subscriptions.push(Subscription {
            id,
            event: event.to_string(),
            cid: cid.map(str::to_string),
            listener,
        });
        id
    }

    /// Removes a subscription; `false` when it was already gone.
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> bool {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|s| s.id != id);
        self.subscriptions.len() != before
    }

    pub fn is_subscribed(&self, id: SubscriptionId) -> bool {
        self.subscriptions.iter().any(|s| s.id == id)
    }

    pub fn len(&self) -> usize {
        self.subscriptions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
    }

    /// Drops every listener (the client is closing).
    pub fn clear(&mut self) {
        self.subscriptions.clear();
    }

    /// The listeners an event of type `event` about channel `cid` goes to, in subscription
    /// order. Channel-scoped listeners never see events without a cid.
    pub fn listeners_for(&self, event: &str, cid: Option<&str>) -> Vec<(SubscriptionId, L)> {
        self.subscriptions
            .iter()
            .filter(|s| s.event == ANY_EVENT || s.event == event)
            .filter(|s| match (&s.cid, cid) {
                (None, _) => true,
                (Some(want), Some(got)) => want == got,
                (Some(_), None) => false,
            })
            .map(|s| (s.id, s.listener.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    type Log = Rc<RefCell<Vec<String>>>;
    type Listener = Rc<dyn Fn(&str)>;

    fn listener(log: &Log, name: &'static str) -> Listener {
        let log = log.clone();
        Rc::new(move |ev: &str| log.borrow_mut().push(format!("{name}:{ev}")))
    }

    fn dispatch(d: &RefCell<Dispatcher<Listener>>, event: &str, cid: Option<&str>) {
        let targets = d.borrow().listeners_for(event, cid);
        for (id, l) in targets {
            if d.borrow().is_subscribed(id) {
                l(event);
            }
        }
    }

    #[test]
    fn routes_by_type_wildcard_and_channel() {
        let log: Log = Default::default();
        let d = RefCell::new(Dispatcher::new());
        d.borrow_mut()
            .subscribe("message.new", None, listener(&log, "msg"));
        d.borrow_mut().subscribe("*", None, listener(&log, "all"));
        d.borrow_mut()
            .subscribe("message.new", Some("messaging:a"), listener(&log, "a"));
        d.borrow_mut()
            .subscribe("*", Some("messaging:b"), listener(&log, "b-any"));

        dispatch(&d, "message.new", Some("messaging:a"));
        dispatch(&d, "member.added", Some("messaging:b"));
        dispatch(&d, "connection.changed", None);
        assert_eq!(
            *log.borrow(),
            [
                "msg:message.new",
                "all:message.new",
                "a:message.new",
                "all:member.added",
                "b-any:member.added",
                "all:connection.changed",
            ]
        );
    }

    #[test]
    fn unsubscribe_removes_only_that_listener() {
        let log: Log = Default::default();
        let mut d = Dispatcher::new();
        let first = d.subscribe("message.new", None, listener(&log, "1"));
        let second = d.subscribe("message.new", None, listener(&log, "2"));
        assert!(d.unsubscribe(first));
        assert!(
            !d.unsubscribe(first),
            "second unsubscribe reports nothing removed"
        );
        let ids: Vec<_> = d
            .listeners_for("message.new", None)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(ids, [second]);
        d.clear();
        assert!(d.is_empty());
    }

    #[test]
    fn a_listener_can_unsubscribe_a_later_one_during_dispatch() {
        let log: Log = Default::default();
        let d = Rc::new(RefCell::new(Dispatcher::<Listener>::new()));
        let victim = Rc::new(RefCell::new(None));
        {
            let (d2, victim2) = (d.clone(), victim.clone());
            d.borrow_mut().subscribe(
                "x",
                None,
                Rc::new(move |_: &str| {
                    if let Some(id) = victim2.borrow_mut().take() {
                        d2.borrow_mut().unsubscribe(id);
                    }
                }),
            );
        }
        let id = d
            .borrow_mut()
            .subscribe("x", None, listener(&log, "victim"));
        *victim.borrow_mut() = Some(id);
        dispatch(&d, "x", None);
        assert!(
            log.borrow().is_empty(),
            "unsubscribed during dispatch, so not called"
        );
        assert_eq!(d.borrow().len(), 1);
    }
}
