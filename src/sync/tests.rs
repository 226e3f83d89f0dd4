//! Unit tests of the sync engine's decisions.

use chat_protocol::requests::SyncCursor;

use super::*;

fn cur(last_seq: u64, has_more: bool, resync: bool) -> SyncCursor {
    SyncCursor {
        last_seq,
        has_more,
        resync,
        page_seq: None,
    }
}

fn applied(out: &[SyncOut<u64>]) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            SyncOut::Apply(e) => Some(*e),
            _ => None,
        })
        .collect()
}

fn request(out: &[SyncOut<u64>]) -> Option<&super::SyncRequest> {
    out.iter().find_map(|o| match o {
        SyncOut::Request(r) => Some(r),
        _ => None,
    })
}

fn engine() -> SyncEngine<u64> {
    let mut e = SyncEngine::new();
    e.reloaded("m:a", 5);
    e.reloaded("m:b", 1);
    e
}

fn ch(cid: &str) -> Stream {
    Stream::Channel(cid.into())
}

#[test]
fn in_order_events_apply_and_duplicates_drop() {
    let mut e = engine();
    assert_eq!(applied(&e.live(ch("m:a"), 6, 6)), [6]);
    assert!(e.live(ch("m:a"), 6, 6).is_empty());
    assert!(e.live(ch("m:a"), 3, 3).is_empty());
    assert_eq!(e.cursor("m:a"), Some(6));
}

#[test]
fn a_gap_holds_later_events_and_syncs_only_that_channel_from_its_cursor() {
    let mut e = engine();
    let out = e.live(ch("m:a"), 8, 8);
    assert!(applied(&out).is_empty(), "held until 6 and 7 are known");
    let req = request(&out).expect("a sync");
    assert_eq!(
        req.channels.iter().collect::<Vec<_>>(),
        [&("m:a".to_string(), 5)]
    );
    assert_eq!(req.user_seq, None);
    // Live 9 while the sync is under way: held too, no second request.
    assert!(e.live(ch("m:a"), 9, 9).is_empty());
    let out = e.answer(SyncAnswer {
        events: vec![
            ("m:a".into(), 6, 6),
            ("m:a".into(), 7, 7),
            ("m:a".into(), 8, 8),
        ],
        channels: vec![("m:a".into(), cur(8, false, false))],
        user_events: vec![],
        user: None,
    });
    assert_eq!(applied(&out), [6, 7, 8, 9], "each once, in order");
    assert!(request(&out).is_none());
}

#[test]
fn pages_continue_while_has_more_then_recovery_is_announced() {
    let mut e = engine();
    let out = e.connected();
    let req = request(&out).unwrap();
    assert_eq!(req.channels.len(), 2);
    assert_eq!(
        req.user_seq,
        Some(USER_SEQ_PROBE),
        "user position unknown: probe"
    );
    let out = e.answer(SyncAnswer {
        events: vec![("m:a".into(), 6, 6)],
        channels: vec![
            ("m:a".into(), cur(7, true, false)),
            ("m:b".into(), cur(1, false, false)),
        ],
        user_events: vec![],
        user: Some(cur(40, false, true)),
    });
    assert_eq!(applied(&out), [6]);
    let req = request(&out).expect("next page");
    assert_eq!(
        req.channels.iter().collect::<Vec<_>>(),
        [&("m:a".to_string(), 6)]
    );
    assert_eq!(e.user_cursor(), Some(40), "the probe set the user position");
    let out = e.answer(SyncAnswer {
        events: vec![("m:a".into(), 7, 7)],
        channels: vec![("m:a".into(), cur(7, false, false))],
        user_events: vec![],
        user: None,
    });
    assert_eq!(applied(&out), [7]);
    assert!(matches!(out.last(), Some(SyncOut::Recovered)));
}

#[test]
fn resync_reloads_the_channel_and_releases_held_events_after_it() {
    let mut e = engine();
    let out = e.live(ch("m:a"), 9, 9);
    assert!(request(&out).is_some());
    let out = e.answer(SyncAnswer {
        events: vec![],
        channels: vec![("m:a".into(), cur(10, false, true))],
        user_events: vec![],
        user: None,
    });
    assert!(matches!(&out[..], [SyncOut::Reload(cid)] if cid == "m:a"));
    assert!(
        e.live(ch("m:a"), 11, 11).is_empty(),
        "held during the reload"
    );
    let out = e.reloaded("m:a", 10);
    assert_eq!(
        applied(&out),
        [11],
        "9 is part of the reloaded state; 11 follows"
    );
}

#[test]
fn skipped_numbers_meant_for_others_do_not_stall_the_stream() {
    let mut e = engine();
    e.live(ch("m:b"), 3, 3); // 2 was a shadowed message of someone else
    let out = e.answer(SyncAnswer {
        events: vec![],
        channels: vec![("m:b".into(), cur(3, false, false))],
        user_events: vec![],
        user: None,
    });
    assert_eq!(applied(&out), [3]);
    assert_eq!(applied(&e.live(ch("m:b"), 4, 4)), [4]);
}

#[test]
fn user_events_are_ordered_like_channel_events() {
    let mut e: SyncEngine<u64> = SyncEngine::new();
    assert_eq!(
        request(&e.connected()).unwrap().user_seq,
        Some(USER_SEQ_PROBE)
    );
    assert!(
        e.live(Stream::User, 3, 3).is_empty(),
        "held until the probe answers"
    );
    let out = e.answer(SyncAnswer {
        events: vec![],
        channels: vec![],
        user_events: vec![],
        user: Some(cur(2, false, true)),
    });
    assert_eq!(applied(&out), [3]);
    let out = e.live(Stream::User, 5, 5);
    assert_eq!(request(&out).unwrap().user_seq, Some(3));
    let out = e.answer(SyncAnswer {
        events: vec![],
        channels: vec![],
        user_events: vec![(4, 4)],
        user: Some(cur(5, false, false)),
    });
    assert_eq!(applied(&out), [4, 5]);
}

#[test]
fn untracked_channels_pass_through_and_failed_syncs_are_retried() {
    let mut e = engine();
    assert_eq!(applied(&e.live(ch("m:zzz"), 4, 4)), [4]);
    let out = e.live(ch("m:a"), 7, 7);
    assert!(request(&out).is_some());
    e.failed();
    assert!(request(&e.poll()).is_some(), "asked again");
}

#[test]
fn a_position_from_connection_ok_needs_no_probe_and_recovers_at_once() {
    let mut e: SyncEngine<u64> = SyncEngine::new();
    assert!(e.user_position(7).is_empty());
    let out = e.connected();
    assert!(out.iter().all(|o| !matches!(o, SyncOut::Request(_))), "no user probe");
    assert!(out.iter().any(|o| matches!(o, SyncOut::Recovered)));
    assert_eq!(e.user_cursor(), Some(7));
    // The next user event follows on from there; an older one is a duplicate.
    let out = e.live(Stream::User, 8, 80);
    assert!(matches!(out.as_slice(), [SyncOut::Apply(80)]));
    assert!(e.live(Stream::User, 6, 60).is_empty());
    // A later connection.ok never moves a known position: the reconnect catches up by sync.
    assert!(e.user_position(20).is_empty());
    let out = e.connected();
    assert_eq!(request(&out).unwrap().user_seq, Some(8));
}

#[test]
fn a_page_cursor_moves_past_a_page_of_events_meant_for_others() {
    let mut e = engine();
    e.live(ch("m:b"), 9, 9); // a hole: 2..8 were missed
    // The page covered 2..5, all of it someone else's shadowed messages.
    let page = SyncCursor { page_seq: Some(5), ..cur(9, true, false) };
    let out = e.answer(SyncAnswer {
        events: vec![],
        channels: vec![("m:b".into(), page)],
        user_events: vec![],
        user: None,
    });
    assert!(applied(&out).is_empty());
    assert_eq!(e.cursor("m:b"), Some(5));
    let next = request(&out).expect("the next page");
    assert_eq!(next.channels, [("m:b".to_string(), 5)]);
    assert_eq!(next.limit, None, "no larger page needed");
    // The last page: 6..8 hold one event for this user; the live 9 follows.
    let out = e.answer(SyncAnswer {
        events: vec![("m:b".into(), 7, 7)],
        channels: vec![("m:b".into(), SyncCursor { page_seq: Some(8), ..cur(9, false, false) })],
        user_events: vec![],
        user: None,
    });
    assert_eq!(applied(&out), [7, 9]);
    assert_eq!(e.cursor("m:b"), Some(9));
}
