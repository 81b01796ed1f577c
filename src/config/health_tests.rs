//! `[health]` and split `ramp` through the whole config pipeline.

use crate::config::load_str;

const BASE: &str = r#"
[[gateway]]
name = "a"
connector = "generic"
base_url = "http://127.0.0.1:1"
[[gateway]]
name = "b"
connector = "generic"
base_url = "http://127.0.0.1:2"
[[route]]
name = "default"
split = [{ gateway = "a", weight = 1 }, { gateway = "b", weight = 1, ramp = { steps = [5, 25], dwell = "10m" } }]
"#;

fn env(_: &str) -> Option<String> {
    None
}

#[test]
fn health_section_and_ramp_compile() {
    let text = format!("{BASE}\n[health]\ndrop_points = 3\nwindow = \"5m\"\ndry_run = true\n");
    let s = load_str(&text, "t.toml", &env, 1).unwrap();
    assert_eq!(s.health.drop_points, 3.0);
    assert_eq!(s.health.window.as_secs(), 300);
    assert!(s.health.dry_run);
    assert_eq!(s.routes[0].ramps.len(), 1);
    assert_eq!(s.routes[0].ramps[0].1.steps, vec![5, 25]);
}

#[test]
fn every_health_error_is_reported_at_its_key() {
    let text = BASE.replace("[5, 25]", "[25, 5]")
        + "\n[health]\nalpha = 2.0\ncooldown = \"forever\"\nprobe_percent = 0\nramp_steps = []\nlatency_rise = 5\n";
    let errs = load_str(&text, "t.toml", &env, 1).unwrap_err().0;
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    for p in [
        "route[0].split[1].ramp.steps",
        "health.alpha",
        "health.cooldown",
        "health.probe_percent",
        "health.ramp_steps",
        "health.latency_rise",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    assert!(errs.iter().all(|e| e.line.is_some()), "{errs:?}");
}
