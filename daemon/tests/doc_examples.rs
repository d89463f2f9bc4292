//! Every JSON-RPC example in docs/ipc.md is read with the types of `cabled::ipc::api`, the
//! ones the daemon and the client use: a request must name a method and decode as its params,
//! a result must decode as its method's result, a notification as its params, and each must
//! encode back to the same JSON (so a member the types do not know fails too).

use cabled::ipc::api::{self, decode_params, Method, NotificationMethod, Visitor};
use cabled::ipc::error::ErrorObject;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The JSON lines of the markdown's untagged code blocks (`> ` / `< ` prefixes removed), with
/// their line numbers. Lines that do not start with `{` are prose (`< (session.event …)`).
fn examples(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut block: Option<bool> = None; // Some(untagged) inside a fence
    for (n, line) in markdown.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            block = match block {
                None => Some(info.trim().is_empty() || info.trim() == "json"),
                Some(_) => None,
            };
            continue;
        }
        if block != Some(true) {
            continue;
        }
        let text = line
            .strip_prefix("> ")
            .or_else(|| line.strip_prefix("< "))
            .unwrap_or(line)
            .trim();
        if text.starts_with('{') {
            out.push((n + 1, text.to_string()));
        }
    }
    out
}

enum Part<'a> {
    Params(&'a Value),
    Result(&'a Value),
}

struct Check<'a>(Part<'a>, &'a str);

impl Visitor for Check<'_> {
    type Output = Result<(), String>;

    fn method<M: Method>(self) -> Self::Output {
        match self.0 {
            Part::Params(params) => {
                let map = match params {
                    Value::Null => Map::new(),
                    Value::Object(map) => map.clone(),
                    other => return Err(format!("params are not an object: {other}")),
                };
                let typed: M::Params = decode_params(M::NAME, map.clone())
                    .map_err(|e| format!("the daemon refuses these params: {e}"))?;
                if params.is_null() {
                    return Ok(());
                }
                same(&typed, params)
            }
            Part::Result(result) => round_trip::<M::Result>(result),
        }
    }

    fn notification<N: NotificationMethod>(self) -> Self::Output {
        match self.0 {
            Part::Params(params) if self.1 == "notification" => round_trip::<N::Params>(params),
            _ => Err(format!("{} is a notification, not a method", N::NAME)),
        }
    }
}

fn round_trip<T: Serialize + DeserializeOwned>(value: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    same(&typed, value)
}

fn same<T: Serialize>(typed: &T, value: &Value) -> Result<(), String> {
    let back = serde_json::to_value(typed).map_err(|e| e.to_string())?;
    if &back == value {
        Ok(())
    } else {
        Err(format!("the types read it as {back}"))
    }
}

/// Checks every example; the errors, one per bad example, naming its line.
fn check(markdown: &str) -> (usize, Vec<String>) {
    let mut errors = Vec::new();
    // Which method each request id belongs to, for the results that follow.
    let mut methods: HashMap<String, String> = HashMap::new();
    let all = examples(markdown);
    for (line, text) in &all {
        let outcome = check_one(text, &mut methods);
        if let Err(e) = outcome {
            errors.push(format!("docs/ipc.md:{line}: {e}\n    {text}"));
        }
    }
    (all.len(), errors)
}

fn check_one(text: &str, methods: &mut HashMap<String, String>) -> Result<(), String> {
    let message: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if message["jsonrpc"] != "2.0" {
        return Err("no \"jsonrpc\": \"2.0\"".into());
    }
    let id = message.get("id").map(Value::to_string);
    if let Some(method) = message.get("method").and_then(Value::as_str) {
        let kind = if id.is_some() {
            "request"
        } else {
            "notification"
        };
        let params = message.get("params").unwrap_or(&Value::Null);
        let checked = api::visit(method, Check(Part::Params(params), kind))
            .ok_or_else(|| format!("there is no method or notification {method:?}"))?;
        if let Some(id) = id {
            methods.insert(id, method.to_string());
        }
        return checked;
    }
    if let Some(error) = message.get("error") {
        return round_trip::<ErrorObject>(error);
    }
    let result = message
        .get("result")
        .ok_or("neither a request, a notification, a result nor an error")?;
    let id = id.ok_or("a result without an id")?;
    let method = methods
        .get(&id)
        .ok_or_else(|| format!("a result for id {id}, which no example request has"))?;
    api::visit(method, Check(Part::Result(result), "result"))
        .ok_or_else(|| format!("there is no method {method:?}"))?
}

#[test]
fn every_example_in_ipc_md_is_read_by_the_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ipc.md");
    let markdown = std::fs::read_to_string(path).expect("docs/ipc.md");
    let (count, errors) = check(&markdown);
    assert!(
        count >= 30,
        "only {count} examples found: is the extraction broken?"
    );
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The checker itself: it must catch what it is there to catch.
#[test]
fn wrong_examples_are_caught() {
    let wrong = [
        // Unknown method.
        r#"> {"jsonrpc":"2.0","id":1,"method":"devices.lst"}"#,
        // Not JSON (a placeholder).
        r#"> {"jsonrpc":"2.0","id":2,"method":"hybrid.start","params":{...}}"#,
        // A param the daemon refuses.
        r#"> {"jsonrpc":"2.0","id":3,"method":"hybrid.start","params":{"request_type":"mc","colour":1}}"#,
        // The doctor bug: sessions as a number.
        r#"> {"jsonrpc":"2.0","id":4,"method":"daemon.status"}
< {"jsonrpc":"2.0","id":4,"result":{"version":"0.1.0","pid":1,"uptime_s":1,"hybrid_enabled":true,"sessions":1,"clients":1,"radio":{"backend":"virtual","description":"x","scanning":false},"bluetooth":{"state":"not_used"},"store":{"state":"not_used"},"tunnel_override":null,"config_file":null}}"#,
        // A result member the types do not have.
        r#"> {"jsonrpc":"2.0","id":5,"method":"session.cancel","params":{"session":"a"}}
< {"jsonrpc":"2.0","id":5,"result":{"session":"a","cancelled":true,"when":3}}"#,
        // An event with a field of the wrong type.
        r#"< {"jsonrpc":"2.0","method":"session.event","params":{"session":"a","event":"tunnel_connected","http_status":"101","t_ms":1}}"#,
        // A result nobody asked for.
        r#"< {"jsonrpc":"2.0","id":99,"result":{}}"#,
    ];
    for example in wrong {
        let markdown = format!("```\n{example}\n```\n");
        let (count, errors) = check(&markdown);
        assert!(count >= 1, "{example}");
        assert_eq!(errors.len(), 1, "not caught: {example}");
    }
    let right = "```\n> {\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"session.cancel\",\"params\":{\"session\":\"a\"}}\n< {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"session\":\"a\",\"cancelled\":true}}\n```\n```toml\n{ not = json }\n```";
    assert_eq!(check(right), (2, Vec::new()));
}
