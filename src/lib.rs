//! chat-sdk (being written).
