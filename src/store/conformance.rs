//! The store conformance suite: one async function per behaviour every [`Store`] backend must
//! have, and [`store_conformance_tests!`](crate::store_conformance_tests), which turns them into
//! tests for one backend — natively (`#[test]` + a blocking executor) or in the browser
//! (`#[wasm_bindgen_test]`). Each function gets a fresh, empty store.

use chat_protocol::requests::SendMessage;
use chat_protocol::{Channel, ChannelMember, Message, User};

use super::{Draft, Page, Reaction, ReadState, Store, StoreError, WriteBatch};
use crate::outbox::{OutboxEntry, OutboxOp, OutboxState};

/// Runs every conformance test against a backend. `$make` is an expression (it may `.await`)
/// that yields a fresh, empty store; each test evaluates it once.
///
/// ```text
/// chat_sdk::store_conformance_tests!(native, MemoryStore::new());
/// chat_sdk::store_conformance_tests!(wasm, IndexedDbStore::open(&fresh_name()).await.unwrap());
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($kind:ident, $make:expr) => {
        $crate::store_conformance_tests!(@each $kind, $make;
            ordering_by_sequence,
            latest_n,
            before_and_after_pages,
            upsert_by_id_replaces_local_echo,
            dedupe_of_repeated_pages,
            thread_index,
            outbox_order_per_channel,
            atomic_echo_and_enqueue,
            invalid_batch_writes_nothing,
            delete_message_takes_its_reactions,
            records_round_trip,
            clear_deletes_everything,
            eviction_never_touches_outbox,
        );
    };
    (@each native, $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                ::futures::executor::block_on(async {
                    let store = $make;
                    $crate::store::conformance::$name(&store).await;
                });
            }
        )*
    };
    (@each wasm, $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[::wasm_bindgen_test::wasm_bindgen_test]
            async fn $name() {
                let store = $make;
                $crate::store::conformance::$name(&store).await;
            }
        )*
    };
}

const CID: &str = "messaging:general";
const OTHER: &str = "messaging:other";
const T: &str = "2026-01-01T00:00:00Z";

/// A confirmed message with id `{cid}#{seq}`.
pub fn message(cid: &str, seq: u64) -> Message {
    Message {
        id: format!("{cid}#{seq}"),
        cid: cid.to_owned(),
        channel_seq: seq,
        user_id: "alice".into(),
        user: None,
        text: format!("message {seq}"),
        message_type: "text".into(),
        status: "sent".into(),
        parent_id: None,
        quoted_message_id: None,
        attachments: Vec::new(),
        mentions: Vec::new(),
        metadata: Default::default(),
        is_silent: false,
        is_pinned: false,
        is_edited: false,
        is_deleted: false,
        created_at: T.into(),
        updated_at: T.into(),
        reply_count: 0,
        reaction_counts: Default::default(),
        latest_reactions: Vec::new(),
        own_reactions: Vec::new(),
        quoted_message: None,
        pinned_at: None,
        pinned_by: None,
        edited_at: None,
        deleted_at: None,
        scheduled_for: None,
    }
}

/// A local echo: not confirmed yet (`channel_seq == 0`, status `pending`).
pub fn echo(cid: &str, id: &str) -> Message {
    let mut m = message(cid, 0);
    m.id = id.to_owned();
    m.status = "pending".into();
    m
}

pub fn channel(cid: &str) -> Channel {
    let (t, id) = chat_protocol::split_cid(cid).expect("test cid");
    Channel {
        cid: cid.into(),
        id: id.into(),
        channel_type: t.into(),
        name: Some(format!("name of {cid}")),
        description: None,
        avatar_url: None,
        metadata: Default::default(),
        is_frozen: false,
        created_by: Some("alice".into()),
        created_at: T.into(),
        updated_at: T.into(),
        last_message_at: None,
        last_seq: 7,
        member_count: 2,
    }
}

pub fn user(id: &str) -> User {
    User {
        id: id.into(),
        username: None,
        display_name: Some(id.to_uppercase()),
        avatar_url: None,
        bio: None,
        user_type: "regular".into(),
        metadata: Default::default(),
        is_online: false,
        is_deactivated: false,
        last_seen_at: None,
        created_at: T.into(),
        updated_at: T.into(),
    }
}

pub fn member(user_id: &str) -> ChannelMember {
    ChannelMember {
        user_id: user_id.into(),
        user: None,
        role: "member".into(),
        joined_at: T.into(),
        unread_count: 0,
        last_read_at: None,
    }
}

pub fn reaction(message_id: &str, user_id: &str, kind: &str) -> Reaction {
    Reaction {
        message_id: message_id.into(),
        user_id: user_id.into(),
        kind: kind.into(),
        created_at: T.into(),
    }
}

pub fn send_entry(cid: &str, id: &str, order: u64) -> OutboxEntry {
    OutboxEntry {
        id: id.into(),
        cid: cid.into(),
        order,
        op: OutboxOp::Send(SendMessage {
            id: id.into(),
            text: format!("text of {id}"),
            ..Default::default()
        }),
        state: OutboxState::Pending,
        attempts: 0,
    }
}

fn seqs(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.channel_seq).collect()
}

async fn write(store: &dyn Store, batch: &mut WriteBatch) {
    store.write(std::mem::take(batch)).await.expect("write");
}

async fn put_seqs(store: &dyn Store, cid: &str, seqs: impl IntoIterator<Item = u64>) {
    let mut batch = WriteBatch::new();
    batch.put_messages(seqs.into_iter().map(|s| message(cid, s)));
    write(store, &mut batch).await;
}

pub async fn ordering_by_sequence(store: &dyn Store) {
    put_seqs(store, CID, [5, 3, 9]).await;
    put_seqs(store, CID, [1, 7, 2]).await;
    put_seqs(store, OTHER, [4, 6]).await;
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3, 5, 7, 9]);
    assert!(all.iter().all(|m| m.cid == CID));
    assert_eq!(
        seqs(&store.messages(OTHER, Page::All).await.unwrap()),
        vec![4, 6]
    );
    assert!(store
        .messages("messaging:none", Page::All)
        .await
        .unwrap()
        .is_empty());
    // Sequence numbers are compared as numbers, not as text.
    put_seqs(store, CID, [10, 100]).await;
    assert_eq!(
        seqs(&store.messages(CID, Page::Latest(3)).await.unwrap()),
        vec![9, 10, 100]
    );
}

pub async fn latest_n(store: &dyn Store) {
    put_seqs(store, CID, 1..=120).await;
    put_seqs(store, OTHER, 200..=260).await;
    let latest = store.messages(CID, Page::Latest(50)).await.unwrap();
    assert_eq!(seqs(&latest), (71..=120).collect::<Vec<_>>());
    let few = store.messages(OTHER, Page::Latest(100)).await.unwrap();
    assert_eq!(few.len(), 61);
    assert_eq!(few[0].channel_seq, 200);
    assert!(store
        .messages(CID, Page::Latest(0))
        .await
        .unwrap()
        .is_empty());
}

pub async fn before_and_after_pages(store: &dyn Store) {
    // Gaps in the sequence (other events took numbers) must not matter.
    put_seqs(store, CID, (1..=60).map(|s| s * 2)).await;
    put_seqs(store, OTHER, 1..=200).await;
    let before = store
        .messages(CID, Page::Before { seq: 41, limit: 5 })
        .await
        .unwrap();
    assert_eq!(seqs(&before), vec![32, 34, 36, 38, 40]);
    let before_exact = store
        .messages(CID, Page::Before { seq: 40, limit: 3 })
        .await
        .unwrap();
    assert_eq!(seqs(&before_exact), vec![34, 36, 38]);
    let after = store
        .messages(CID, Page::After { seq: 40, limit: 4 })
        .await
        .unwrap();
    assert_eq!(seqs(&after), vec![42, 44, 46, 48]);
    let after_odd = store
        .messages(CID, Page::After { seq: 41, limit: 2 })
        .await
        .unwrap();
    assert_eq!(seqs(&after_odd), vec![42, 44]);
    let start = store
        .messages(CID, Page::Before { seq: 5, limit: 10 })
        .await
        .unwrap();
    assert_eq!(seqs(&start), vec![2, 4]);
    let end = store
        .messages(
            CID,
            Page::After {
                seq: 118,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(seqs(&end), vec![120]);
    assert!(store
        .messages(
            CID,
            Page::After {
                seq: 120,
                limit: 10
            }
        )
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .messages(CID, Page::Before { seq: 2, limit: 10 })
        .await
        .unwrap()
        .is_empty());
}

pub async fn upsert_by_id_replaces_local_echo(store: &dyn Store) {
    put_seqs(store, CID, [1, 2]).await;
    let mut batch = WriteBatch::new();
    batch.put_message(echo(CID, "local-1"));
    write(store, &mut batch).await;
    // A local echo is readable by id but is not part of the confirmed pages.
    assert_eq!(
        store.message("local-1").await.unwrap().unwrap().channel_seq,
        0
    );
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![1, 2]
    );

    let mut confirmed = message(CID, 3);
    confirmed.id = "local-1".into();
    confirmed.text = "from the server".into();
    batch.put_message(confirmed.clone());
    write(store, &mut batch).await;
    assert_eq!(
        store.message("local-1").await.unwrap(),
        Some(confirmed.clone())
    );
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3]);
    assert_eq!(all[2].text, "from the server");

    // An edit arriving later replaces the record, keeping its place.
    confirmed.text = "edited".into();
    confirmed.is_edited = true;
    batch.put_message(confirmed);
    write(store, &mut batch).await;
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!((all.len(), all[2].text.as_str()), (3, "edited"));
}

pub async fn dedupe_of_repeated_pages(store: &dyn Store) {
    put_seqs(store, CID, 1..=30).await;
    put_seqs(store, CID, 20..=40).await;
    put_seqs(store, CID, 1..=40).await;
    let all = store.messages(CID, Page::All).await.unwrap();
    assert_eq!(seqs(&all), (1..=40).collect::<Vec<_>>());
    // The same id twice in one batch: the later write wins.
    let mut a = message(CID, 41);
    a.text = "first".into();
    let mut b = a.clone();
    b.text = "second".into();
    let mut batch = WriteBatch::new();
    batch.put_message(a).put_message(b);
    write(store, &mut batch).await;
    let latest = store.messages(CID, Page::Latest(1)).await.unwrap();
    assert_eq!(latest[0].text, "second");
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 41);
}

pub async fn thread_index(store: &dyn Store) {
    let parent = message(CID, 1);
    let mut batch = WriteBatch::new();
    batch.put_message(parent.clone());
    for seq in [2, 4, 3, 6, 5] {
        let mut reply = message(CID, seq);
        reply.parent_id = Some(parent.id.clone());
        batch.put_message(reply);
    }
    let mut elsewhere = message(OTHER, 3);
    elsewhere.parent_id = Some("someone-else".into());
    batch.put_message(elsewhere);
    let mut pending_reply = echo(CID, "local-reply");
    pending_reply.parent_id = Some(parent.id.clone());
    batch.put_message(pending_reply);
    write(store, &mut batch).await;

    let thread = store.thread(&parent.id, Page::All).await.unwrap();
    assert_eq!(seqs(&thread), vec![2, 3, 4, 5, 6]);
    assert!(thread
        .iter()
        .all(|m| m.parent_id.as_deref() == Some(parent.id.as_str())));
    assert_eq!(
        seqs(&store.thread(&parent.id, Page::Latest(2)).await.unwrap()),
        vec![5, 6]
    );
    let before = store
        .thread(&parent.id, Page::Before { seq: 5, limit: 2 })
        .await
        .unwrap();
    assert_eq!(seqs(&before), vec![3, 4]);
    let after = store
        .thread(&parent.id, Page::After { seq: 2, limit: 2 })
        .await
        .unwrap();
    assert_eq!(seqs(&after), vec![3, 4]);
    // Replies are channel messages too.
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 6);
    assert!(store
        .thread(&message(CID, 2).id, Page::All)
        .await
        .unwrap()
        .is_empty());
}

pub async fn outbox_order_per_channel(store: &dyn Store) {
    let mut batch = WriteBatch::new();
    for (cid, id, order) in [
        (CID, "c", 3),
        (OTHER, "b", 2),
        (CID, "a", 1),
        (OTHER, "d", 10),
    ] {
        batch.put_outbox(send_entry(cid, id, order));
    }
    write(store, &mut batch).await;
    let all = store.outbox().await.unwrap();
    let ids: Vec<_> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "c", "d"]);
    let in_cid: Vec<_> = all
        .iter()
        .filter(|e| e.cid == CID)
        .map(|e| e.order)
        .collect();
    assert_eq!(in_cid, vec![1, 3]);

    // Updating an entry keeps one entry under its id.
    let mut failed = send_entry(CID, "c", 3);
    failed.state = OutboxState::Failed {
        code: chat_protocol::ErrorCode::Forbidden,
        message: "frozen".into(),
    };
    failed.attempts = 2;
    batch.put_outbox(failed.clone()).delete_outbox("b");
    write(store, &mut batch).await;
    let all = store.outbox().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1], failed);
}

pub async fn atomic_echo_and_enqueue(store: &dyn Store) {
    let mut batch = WriteBatch::new();
    batch
        .put_message(echo(CID, "m-1"))
        .put_outbox(send_entry(CID, "m-1", 1))
        .put_reaction(reaction("m-0", "alice", "like"))
        .put_outbox(OutboxEntry {
            id: "r-1".into(),
            cid: CID.into(),
            order: 2,
            op: OutboxOp::AddReaction {
                message_id: "m-0".into(),
                kind: "like".into(),
            },
            state: OutboxState::Pending,
            attempts: 0,
        });
    write(store, &mut batch).await;
    assert!(store.message("m-1").await.unwrap().is_some());
    assert_eq!(store.reactions("m-0").await.unwrap().len(), 1);
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[0], send_entry(CID, "m-1", 1));
}

pub async fn invalid_batch_writes_nothing(store: &dyn Store) {
    let mut batch = WriteBatch::new();
    batch
        .put_message(echo(CID, "m-1"))
        .put_outbox(send_entry(CID, "m-1", 1))
        .put_message(message(CID, 1 << 60));
    let err = store.write(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Codec { .. }), "{err}");
    assert!(store.message("m-1").await.unwrap().is_none());
    assert!(store.outbox().await.unwrap().is_empty());
    // The store is still usable.
    put_seqs(store, CID, [1]).await;
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 1);
}

pub async fn delete_message_takes_its_reactions(store: &dyn Store) {
    put_seqs(store, CID, [1, 2]).await;
    let (one, two) = (message(CID, 1).id, message(CID, 2).id);
    let mut batch = WriteBatch::new();
    batch
        .put_reaction(reaction(&one, "bob", "like"))
        .put_reaction(reaction(&one, "alice", "like"))
        .put_reaction(reaction(&one, "alice", "wow"))
        .put_reaction(reaction(&two, "bob", "like"));
    write(store, &mut batch).await;
    let on_one = store.reactions(&one).await.unwrap();
    let keys: Vec<_> = on_one
        .iter()
        .map(|r| (r.user_id.as_str(), r.kind.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![("alice", "like"), ("alice", "wow"), ("bob", "like")]
    );

    batch.delete_reaction(&one, "alice", "wow");
    write(store, &mut batch).await;
    assert_eq!(store.reactions(&one).await.unwrap().len(), 2);

    batch.delete_message(&one);
    write(store, &mut batch).await;
    assert!(store.message(&one).await.unwrap().is_none());
    assert!(store.reactions(&one).await.unwrap().is_empty());
    assert_eq!(store.reactions(&two).await.unwrap().len(), 1);
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![2]
    );
}

pub async fn records_round_trip(store: &dyn Store) {
    let mut alice = user("alice");
    alice.metadata.insert("team".into(), 7.into());
    let mut batch = WriteBatch::new();
    batch
        .put_channel(channel(CID))
        .put_channel(channel(OTHER))
        .put_member(CID, member("bob"))
        .put_member(CID, member("alice"))
        .put_member(OTHER, member("carol"))
        .put_user(alice.clone())
        .put_read(ReadState {
            cid: CID.into(),
            user_id: "alice".into(),
            last_read_seq: 4,
            last_read_at: T.into(),
        })
        .put_draft(Draft {
            cid: CID.into(),
            parent_id: None,
            text: "hi".into(),
            updated_at: T.into(),
        })
        .put_draft(Draft {
            cid: CID.into(),
            parent_id: Some("p".into()),
            text: "in thread".into(),
            updated_at: T.into(),
        })
        .put_meta("cursor:user", "42");
    write(store, &mut batch).await;

    assert_eq!(store.channel(CID).await.unwrap(), Some(channel(CID)));
    let cids: Vec<_> = store
        .channels()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.cid)
        .collect();
    assert_eq!(cids, vec![CID.to_owned(), OTHER.to_owned()]);
    let members: Vec<_> = store
        .members(CID)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members, vec!["alice", "bob"]);
    assert_eq!(store.user("alice").await.unwrap(), Some(alice));
    assert_eq!(store.user("nobody").await.unwrap(), None);
    assert_eq!(store.reads(CID).await.unwrap()[0].last_read_seq, 4);
    assert_eq!(store.draft(CID, None).await.unwrap().unwrap().text, "hi");
    assert_eq!(
        store.draft(CID, Some("p")).await.unwrap().unwrap().text,
        "in thread"
    );
    assert_eq!(
        store.meta("cursor:user").await.unwrap().as_deref(),
        Some("42")
    );
    assert_eq!(store.meta("cursor:none").await.unwrap(), None);

    batch.delete_draft(CID, Some("p"));
    batch.push(super::Write::DeleteMember {
        cid: CID.into(),
        user_id: "bob".into(),
    });
    batch.push(super::Write::DeleteChannel(OTHER.into()));
    write(store, &mut batch).await;
    assert_eq!(store.draft(CID, Some("p")).await.unwrap(), None);
    assert!(store.draft(CID, None).await.unwrap().is_some());
    assert_eq!(store.members(CID).await.unwrap().len(), 1);
    assert_eq!(store.channels().await.unwrap().len(), 1);
}

pub async fn clear_deletes_everything(store: &dyn Store) {
    put_seqs(store, CID, 1..=10).await;
    let mut batch = WriteBatch::new();
    batch
        .put_channel(channel(CID))
        .put_member(CID, member("alice"))
        .put_user(user("alice"))
        .put_message(echo(CID, "m-1"))
        .put_outbox(send_entry(CID, "m-1", 1))
        .put_reaction(reaction("m-1", "alice", "like"))
        .put_meta("cursor", "1");
    write(store, &mut batch).await;
    store.clear().await.unwrap();
    assert!(store.messages(CID, Page::All).await.unwrap().is_empty());
    assert!(store.message("m-1").await.unwrap().is_none());
    assert!(store.channels().await.unwrap().is_empty());
    assert!(store.members(CID).await.unwrap().is_empty());
    assert!(store.user("alice").await.unwrap().is_none());
    assert!(store.outbox().await.unwrap().is_empty());
    assert!(store.reactions("m-1").await.unwrap().is_empty());
    assert!(store.meta("cursor").await.unwrap().is_none());
    // Usable afterwards.
    put_seqs(store, CID, [3]).await;
    assert_eq!(store.messages(CID, Page::All).await.unwrap().len(), 1);
}

pub async fn eviction_never_touches_outbox(store: &dyn Store) {
    put_seqs(store, CID, 1..=10).await;
    put_seqs(store, OTHER, 1..=10).await;
    let edited = message(CID, 2).id;
    let mut batch = WriteBatch::new();
    batch
        .put_message(echo(CID, "local-1"))
        .put_outbox(send_entry(CID, "local-1", 1))
        .put_outbox(OutboxEntry {
            id: "edit-1".into(),
            cid: CID.into(),
            order: 2,
            op: OutboxOp::Edit {
                message_id: edited.clone(),
                text: "new".into(),
            },
            state: OutboxState::Pending,
            attempts: 0,
        })
        .put_reaction(reaction(&message(CID, 1).id, "bob", "like"));
    write(store, &mut batch).await;

    let removed = store.evict_messages(CID, 3).await.unwrap();
    assert_eq!(removed, 6); // 1, 3, 4, 5, 6, 7 (2 is referenced by the outbox)
    assert_eq!(
        seqs(&store.messages(CID, Page::All).await.unwrap()),
        vec![2, 8, 9, 10]
    );
    assert!(store
        .reactions(&message(CID, 1).id)
        .await
        .unwrap()
        .is_empty());
    assert!(store.message("local-1").await.unwrap().is_some());
    assert_eq!(store.outbox().await.unwrap().len(), 2);
    assert_eq!(store.messages(OTHER, Page::All).await.unwrap().len(), 10);
    assert_eq!(store.evict_messages(CID, 3).await.unwrap(), 0);
    assert_eq!(store.evict_messages(OTHER, 0).await.unwrap(), 10);
}
