//! The chat domain over Postgres: applications, users, channels, members and messages. Each
//! module owns the SQL for its tables; handlers call these functions and never write SQL.

pub mod apps;
pub mod channel_admin;
pub mod channel_query;
pub mod channels;
pub mod devices;
pub mod drafts;
pub mod events;
pub mod message_list;
pub mod message_ops;
pub mod messages;
pub mod mutations;
pub mod reactions;
pub mod reads;
pub mod scheduler;
pub mod search;
pub mod teams;
pub mod send_batch;
pub mod sync;
pub mod members;
pub mod permissions;
pub mod posting;
pub mod users;
pub mod validate;
pub mod watchers;
