//! A request body checked against the service's published model
//! (`fixtures/aws-models/`, copied from botocore): the Rust SDK builds
//! requests the service refuses (a two-letter `customLanguageCode`, a
//! missing required member, a value outside an enum) without a word.
//!
//! The body is walked as sent (JSON protocols: `rest-json` keys are the
//! members' `locationName`, `json` keys the member names) from the
//! operation's input shape. Checked: unknown members, required members,
//! types, string `min`/`max` (characters), `pattern` and `enum`, number
//! `min`/`max`, list and map sizes.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// One service's model.
#[derive(Debug)]
pub struct Model {
    name: String,
    shapes: Map<String, Value>,
    operations: Map<String, Value>,
    patterns: std::sync::Mutex<HashMap<String, regex::Regex>>,
}

impl Model {
    /// `fixtures/aws-models/{file}.json` (`mediaconvert-2017-08-29`).
    pub fn fixture(file: &str) -> Model {
        let text = super::read(&format!("aws-models/{file}.json"));
        let mut model: Value =
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let take = |m: &mut Value, k: &str| match m.get_mut(k).map(Value::take) {
            Some(Value::Object(o)) => o,
            _ => panic!("{file}: no {k}"),
        };
        Model {
            name: file.to_string(),
            shapes: take(&mut model, "shapes"),
            operations: take(&mut model, "operations"),
            patterns: std::sync::Mutex::default(),
        }
    }

    /// Every way `body` breaks the input shape of `operation`
    /// (`CreateJob`), each naming the member's path; empty when none.
    pub fn problems(&self, operation: &str, body: &Value) -> Vec<String> {
        let input = self.operations[operation]["input"]["shape"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no operation {operation}", self.name));
        let mut out = Vec::new();
        self.walk(input, body, "$", &mut out);
        out
    }

    /// Fails the test with every problem of `body`.
    pub fn assert_valid(&self, operation: &str, body: &Value) {
        let problems = self.problems(operation, body);
        assert!(
            problems.is_empty(),
            "{operation} breaks {}: {problems:#?}",
            self.name
        );
    }

    fn shape(&self, name: &str) -> &Map<String, Value> {
        self.shapes[name]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no shape {name}", self.name))
    }

    fn walk(&self, shape: &str, v: &Value, at: &str, out: &mut Vec<String>) {
        let s = self.shape(shape);
        let num = |k: &str| s.get(k).and_then(Value::as_f64);
        let bounds = |n: f64, what: &str, out: &mut Vec<String>| {
            if let Some(min) = num("min").filter(|m| n < *m) {
                out.push(format!("{at}: {what} {n} is below the minimum {min}"));
            }
            if let Some(max) = num("max").filter(|m| n > *m) {
                out.push(format!("{at}: {what} {n} is above the maximum {max}"));
            }
        };
        let kind = s["type"].as_str().unwrap_or_default();
        match (kind, v) {
            ("structure", Value::Object(m)) => self.structure(s, m, at, out),
            ("list", Value::Array(items)) => {
                bounds(items.len() as f64, "length", out);
                let member = s["member"]["shape"].as_str().unwrap_or_default();
                for (i, x) in items.iter().enumerate() {
                    self.walk(member, x, &format!("{at}[{i}]"), out);
                }
            }
            ("map", Value::Object(m)) => {
                bounds(m.len() as f64, "size", out);
                let key = s["key"]["shape"].as_str().unwrap_or_default();
                let value = s["value"]["shape"].as_str().unwrap_or_default();
                for (k, x) in m {
                    self.walk(
                        key,
                        &Value::String(k.clone()),
                        &format!("{at} key {k:?}"),
                        out,
                    );
                    self.walk(value, x, &format!("{at}.{k}"), out);
                }
            }
            ("string", Value::String(text)) => {
                bounds(text.chars().count() as f64, "length", out);
                if let Some(values) = s.get("enum").and_then(Value::as_array)
                    && !values.iter().any(|e| e == v)
                {
                    out.push(format!("{at}: {text:?} is not one of {shape}'s values"));
                }
                if let Some(p) = s.get("pattern").and_then(Value::as_str)
                    && !self.matches(p, text)
                {
                    out.push(format!("{at}: {text:?} does not match {p}"));
                }
            }
            ("integer" | "long", Value::Number(n)) if n.is_i64() || n.is_u64() => {
                bounds(n.as_f64().unwrap_or(f64::NAN), "value", out);
            }
            ("double" | "float", Value::Number(n)) => {
                bounds(n.as_f64().unwrap_or(f64::NAN), "value", out);
            }
            ("boolean", Value::Bool(_)) | ("timestamp", Value::String(_) | Value::Number(_)) => {}
            ("blob", Value::String(_)) => {}
            _ => out.push(format!("{at}: {v} is not a {kind} ({shape})")),
        }
    }

    fn structure(
        &self,
        s: &Map<String, Value>,
        m: &Map<String, Value>,
        at: &str,
        out: &mut Vec<String>,
    ) {
        let none = Map::new();
        let members = s.get("members").and_then(Value::as_object).unwrap_or(&none);
        // Members bound to the URI, headers or query string are not in the body.
        let in_body = |d: &Value| d.get("location").is_none();
        let wire = |name: &str, d: &Value| {
            d.get("locationName")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string()
        };
        for (k, x) in m {
            match members
                .iter()
                .find(|(name, d)| in_body(d) && wire(name, d) == *k)
            {
                Some((_, d)) => {
                    let shape = d["shape"].as_str().unwrap_or_default();
                    self.walk(shape, x, &format!("{at}.{k}"), out);
                }
                None => out.push(format!("{at}: unknown member {k:?}")),
            }
        }
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = r.as_str().unwrap_or_default();
            let Some(d) = members.get(name) else { continue };
            if in_body(d) && !m.contains_key(&wire(name, d)) {
                out.push(format!("{at}: required member {:?} missing", wire(name, d)));
            }
        }
    }

    fn matches(&self, pattern: &str, text: &str) -> bool {
        let mut cache = self
            .patterns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(pattern.to_string())
            .or_insert_with(|| {
                let java = java_classes(pattern);
                regex::Regex::new(&java).unwrap_or_else(|e| panic!("pattern {pattern}: {e}"))
            })
            .is_match(text)
    }
}

/// The model's patterns are Java's: `\\w`, `\\d` and `\\s` are ASCII there
/// (`Français` is not `^[\\w\\s]*$` to the service), Unicode in `regex`.
fn java_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('d') => out.push_str("[0-9]"),
            Some('s') => out.push_str("[\\t\\n\\x0B\\x0C\\r ]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_constraint_of_the_model_is_checked() {
        let mc = Model::fixture("mediaconvert-2017-08-29");
        let job = |selector: Value| {
            json!({"role": "arn:aws:iam::1:role/r", "settings": {"inputs": [
                {"captionSelectors": {"Captions Selector 1": selector}}]}})
        };
        let ok = job(json!({"customLanguageCode": "eng", "languageCode": "FRA"}));
        assert_eq!(mc.problems("CreateJob", &ok), Vec::<String>::new());
        for (bad, says) in [
            (json!({"customLanguageCode": "en"}), "below the minimum 3"),
            (json!({"customLanguageCode": "e1g"}), "does not match"),
            (json!({"languageCode": "EN"}), "is not one of LanguageCode"),
            (json!({"mystery": 1}), "unknown member \"mystery\""),
            (json!({"sourceSettings": "x"}), "is not a structure"),
        ] {
            let problems = mc.problems("CreateJob", &job(bad.clone()));
            assert!(
                problems.iter().any(|p| p.contains(says)),
                "{bad}: {problems:?}"
            );
        }
        // Java's \\w is ASCII: the service refuses what Unicode \\w takes.
        let named = json!({"role": "r", "settings": {"outputGroups": [{"outputs": [
            {"audioDescriptions": [{"streamName": "Français"}]}]}]}});
        let problems = mc.problems("CreateJob", &named);
        assert!(
            problems.iter().any(|p| p.contains("streamName")),
            "{problems:?}"
        );
        let none = mc.problems("CreateJob", &json!({}));
        assert!(
            none.iter().any(|p| p.contains("\"role\" missing")),
            "{none:?}"
        );
        let range = json!({"role": "r", "settings": {"adAvailOffset": 5000}});
        let problems = mc.problems("CreateJob", &range);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("above the maximum 1000")),
            "{problems:?}"
        );
    }
}
