//! The hand-kept API reference (docs/protocol.md) names every HTTP route the server mounts and
//! every event type the server can send: this test reads the routes from the router sources and
//! the event names from the protocol crate, and fails on anything undocumented.

use std::path::Path;

fn normalise(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn docs() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md");
    normalise(&std::fs::read_to_string(root).expect("docs/protocol.md"))
}

#[test]
fn every_route_is_documented() {
    let docs = docs();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in src.split(".route(\"").skip(1) {
            routes.push(part.split('"').next().unwrap().to_string());
        }
    }
    assert!(routes.len() >= 20, "found only {} routes", routes.len());
    let missing: Vec<&String> = routes.iter().filter(|r| !docs.contains(&format!("`{}", normalise(r))) && !docs.contains(&format!(" {}", normalise(r)))).collect();
    assert!(missing.is_empty(), "routes missing from docs/protocol.md: {missing:?}");
}

#[test]
fn every_server_event_is_documented() {
    let docs = docs();
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/src/frames.rs")).unwrap();
    let server = &src[src.find("pub enum ServerFrame").unwrap()..];
    let server = &server[..server.find("\n}\n").unwrap()];
    let mut names = Vec::new();
    for part in server.split("#[serde(rename = \"").skip(1) {
        names.push(part.split('"').next().unwrap().to_string());
    }
    assert!(names.len() >= 10);
    let missing: Vec<&String> = names.iter().filter(|n| !docs.contains(&format!("`{n}`"))).collect();
    assert!(missing.is_empty(), "events missing from docs/protocol.md: {missing:?}");
}
