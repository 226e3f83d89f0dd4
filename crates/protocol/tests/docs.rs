//! The protocol reference (docs/protocol.md) and the code agree on every error and close code.

use chat_protocol::{CloseCode, ErrorCode};

const DOC: &str = include_str!("../../../docs/protocol.md");

const ALL_CODES: [ErrorCode; 25] = [
    ErrorCode::InvalidJson, ErrorCode::InvalidInput, ErrorCode::UnknownApiKey, ErrorCode::AppInactive,
    ErrorCode::InvalidSecret, ErrorCode::MissingToken, ErrorCode::InvalidToken, ErrorCode::TokenExpired,
    ErrorCode::TokenRevoked, ErrorCode::UnknownUser, ErrorCode::UserDeactivated, ErrorCode::Forbidden,
    ErrorCode::NotFound, ErrorCode::IdConflict, ErrorCode::FrameTooLarge, ErrorCode::InvalidFrame,
    ErrorCode::RateLimited, ErrorCode::Internal, ErrorCode::Unavailable,
    ErrorCode::ChannelFrozen, ErrorCode::BannedFromChannel, ErrorCode::SlowMode,
    ErrorCode::MethodNotAllowed, ErrorCode::UriTooLong, ErrorCode::HeadersTooLarge,
];

fn table_rows(heading: &str) -> Vec<Vec<String>> {
    let start = DOC.find(heading).unwrap_or_else(|| panic!("no {heading} section"));
    DOC[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_string()).collect())
        .collect()
}

#[test]
fn every_error_code_is_documented_with_its_status_and_retryability() {
    let rows = table_rows("## Errors");
    assert_eq!(rows.len(), ALL_CODES.len(), "the table and the enum list the same codes");
    for code in ALL_CODES {
        let row = rows.iter().find(|r| r[0] == code.as_str()).unwrap_or_else(|| panic!("{code} undocumented"));
        assert_eq!(row[1], code.http_status().to_string(), "{code} status");
        assert_eq!(row[2] == "yes", code.retryable(), "{code} retryable");
    }
}

#[test]
fn every_close_code_is_documented() {
    let rows = table_rows("### Close codes");
    for row in &rows {
        let n: u16 = row[0].parse().unwrap();
        let code = CloseCode::from_u16(n).unwrap_or_else(|| panic!("documented close code {n} not in CloseCode"));
        let says_reconnect = row[2] == "yes";
        assert_eq!(CloseCode::should_reconnect(n), says_reconnect, "{code:?}");
    }
    for n in 1000..5000u16 {
        if CloseCode::from_u16(n).is_some() {
            assert!(rows.iter().any(|r| r[0] == n.to_string()), "close code {n} undocumented");
        }
    }
}
