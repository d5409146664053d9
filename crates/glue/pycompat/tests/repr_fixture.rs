//! `repr` against CPython's own output for tricky values (quotes, escapes, every edge of the
//! not-printable table, floats, big ints), from `tests/fixtures/gen_repr.py`.

use serde_json::Value;

#[test]
fn repr_matches_cpython() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/repr.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 100, "the fixture lost its cases");
    let mut failures = Vec::new();
    for case in cases {
        let expected = case["repr"].as_str().unwrap();
        let got = lls_pycompat::repr(&case["input"]);
        if got != expected {
            failures.push(format!(
                "input {}\n  python: {expected}\n  ours:   {got}",
                case["input"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
