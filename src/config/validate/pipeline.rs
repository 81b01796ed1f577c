//! `[pipeline]` and `[[sink]]`: attempt limits, backoff, batch size and each sink's
//! per-kind keys.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{duration, http_url, int_in, one_of, secret_ref};
use crate::config::EnvLookup;
use crate::config::raw::{RawPipeline, RawSink};
use crate::config::spans::Diagnostics;
use crate::model::Secret;
use crate::pipeline::{PipelineConfig, SinkKind, SinkSpec, default_sink};

#[derive(Clone, Copy)]
enum Kind {
    File,
    Http,
    Redis,
    Nats,
}

pub(super) fn validate(
    raw: &RawPipeline,
    sinks: &[RawSink],
    ledger_path: &Path,
    env: EnvLookup<'_>,
    diag: &mut Diagnostics<'_>,
) -> PipelineConfig {
    let max_attempts = int_in(
        diag,
        "pipeline.max_attempts",
        raw.max_attempts,
        1..=1000,
        30,
    );
    let backoff_initial = duration(
        diag,
        "pipeline.backoff_initial",
        raw.backoff_initial.as_deref(),
        1,
    );
    let backoff_max = duration(
        diag,
        "pipeline.backoff_max",
        raw.backoff_max.as_deref(),
        300,
    );
    if backoff_max < backoff_initial {
        diag.error(
            "pipeline.backoff_max",
            "must not be shorter than pipeline.backoff_initial",
        );
    }
    let batch = int_in(diag, "pipeline.batch", raw.batch, 1..=10_000, 500) as usize;
    let poll = duration(diag, "pipeline.poll", raw.poll.as_deref(), 1);
    let mut specs = Vec::with_capacity(sinks.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, s) in sinks.iter().enumerate() {
        let at = format!("sink[{i}]");
        let name = s.name.clone().unwrap_or_default();
        if super::gateways::unique_name(diag, &at, "sink", s.name.as_deref(), &seen) {
            seen.insert(name.clone(), i);
        }
        if let Some(kind) = sink(s, &at, env, diag) {
            specs.push(SinkSpec { name, kind });
        }
    }
    if sinks.is_empty() {
        specs.push(default_sink(ledger_path));
    }
    PipelineConfig {
        max_attempts,
        backoff_initial,
        backoff_max,
        batch,
        poll,
        sinks: specs,
    }
}

fn sink(s: &RawSink, at: &str, env: EnvLookup<'_>, diag: &mut Diagnostics<'_>) -> Option<SinkKind> {
    let Some(k) = s.kind.as_deref() else {
        diag.error(
            &format!("{at}.kind"),
            "kind is required (file | http | redis | nats)",
        );
        return None;
    };
    let kind = one_of(
        diag,
        &format!("{at}.kind"),
        Some(k),
        &[
            ("file", Some(Kind::File)),
            ("http", Some(Kind::Http)),
            ("redis", Some(Kind::Redis)),
            ("nats", Some(Kind::Nats)),
        ],
        None,
    )?;
    // Keys that belong to other kinds are refused, so a typo'd kind cannot silently
    // ignore half the table.
    let allowed: &[&str] = match kind {
        Kind::File => &["path"],
        Kind::Http => &["url", "secret_env", "secret_file", "timeout"],
        Kind::Redis => &["url", "stream", "maxlen"],
        Kind::Nats => &["url", "subject", "stream"],
    };
    let present = [
        ("path", s.path.is_some()),
        ("url", s.url.is_some()),
        ("secret_env", s.secret_env.is_some()),
        ("secret_file", s.secret_file.is_some()),
        ("timeout", s.timeout.is_some()),
        ("stream", s.stream.is_some()),
        ("maxlen", s.maxlen.is_some()),
        ("subject", s.subject.is_some()),
    ];
    for (key, set) in present {
        if set && !allowed.contains(&key) {
            diag.error(
                &format!("{at}.{key}"),
                format!(
                    "is not a key of a {k} sink (its keys: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
    let required = |diag: &mut Diagnostics<'_>, key: &str, v: &Option<String>| -> String {
        match v.as_deref() {
            Some(x) if !x.trim().is_empty() => x.to_string(),
            Some(_) => {
                diag.error(&format!("{at}.{key}"), "must not be empty");
                String::new()
            }
            None => {
                diag.error(
                    &format!("{at}.{key}"),
                    format!("{key} is required for a {k} sink"),
                );
                String::new()
            }
        }
    };
    let url_with = |diag: &mut Diagnostics<'_>, schemes: &[&str]| -> String {
        let u = required(diag, "url", &s.url);
        if !u.is_empty() && !schemes.iter().any(|p| u.starts_with(p)) {
            diag.error(
                &format!("{at}.url"),
                format!("\"{u}\" must start with {}", schemes.join(" or ")),
            );
        }
        u
    };
    Some(match kind {
        Kind::File => SinkKind::File {
            path: PathBuf::from(required(diag, "path", &s.path)),
        },
        Kind::Http => {
            let url = required(diag, "url", &s.url);
            if !url.is_empty() {
                http_url(diag, &format!("{at}.url"), &url);
            }
            let secret = secret_ref(
                diag,
                env,
                at,
                "secret",
                s.secret_env.as_deref(),
                s.secret_file.as_deref(),
            );
            if secret.is_none() && s.secret_env.is_none() && s.secret_file.is_none() {
                diag.error(
                    &format!("{at}.secret_env"),
                    "an http sink signs its requests: set secret_env or secret_file",
                );
            }
            SinkKind::Http {
                url,
                secret: secret.unwrap_or_else(|| Secret::new("")),
                timeout: duration(diag, &format!("{at}.timeout"), s.timeout.as_deref(), 10),
            }
        }
        Kind::Redis => {
            if s.maxlen == Some(0) {
                diag.error(&format!("{at}.maxlen"), "must be at least 1");
            }
            SinkKind::Redis {
                url: url_with(diag, &["redis://", "rediss://", "unix://"]),
                stream: required(diag, "stream", &s.stream),
                maxlen: s.maxlen,
            }
        }
        Kind::Nats => SinkKind::Nats {
            url: url_with(diag, &["nats://", "tls://"]),
            subject: required(diag, "subject", &s.subject),
            stream: required(diag, "stream", &s.stream),
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;
    use crate::pipeline::SinkKind;

    const BASE: &str = "[ledger]\npath = \"/var/lib/sy/ledger.db\"\n\n[[gateway]]\nname = \"g\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:9\"\n\n[[route]]\nname = \"r\"\nsplit = [{ gateway = \"g\", weight = 1 }]\n";

    fn errors(extra: &str) -> Vec<String> {
        match load_str(
            &format!("{BASE}{extra}"),
            "t.toml",
            &|_| Some("s".into()),
            1,
        ) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn no_sink_means_a_file_sink_beside_the_ledger() {
        let s = load_str(BASE, "t.toml", &|_| None, 1).unwrap();
        assert_eq!(s.pipeline.max_attempts, 30);
        assert_eq!(s.pipeline.batch, 500);
        assert_eq!(s.pipeline.sinks.len(), 1);
        match &s.pipeline.sinks[0].kind {
            SinkKind::File { path } => assert_eq!(path.to_str(), Some("/var/lib/sy/events.jsonl")),
            other => panic!("expected the file sink, got {other:?}"),
        }
    }

    #[test]
    fn sink_mistakes_are_reported_at_their_keys() {
        let errs = errors(
            "[pipeline]\nmax_attempts = 0\nbackoff_initial = \"10s\"\nbackoff_max = \"1s\"\n\n\
             [[sink]]\nname = \"a\"\nkind = \"htp\"\n\n\
             [[sink]]\nname = \"b\"\nkind = \"http\"\nurl = \"ftp://x\"\n\n\
             [[sink]]\nname = \"b\"\nkind = \"file\"\npath = \"e.jsonl\"\nstream = \"s\"\n\n\
             [[sink]]\nname = \"c\"\nkind = \"nats\"\nurl = \"redis://x\"\nstream = \"S\"\n",
        );
        let want = [
            "pipeline.max_attempts: must be between 1 and 1000",
            "pipeline.backoff_max: must not be shorter",
            "sink[0].kind: \"htp\" is not one of file | http | redis | nats (did you mean \"http\"?)",
            "sink[1].url: \"ftp://x\" must be an http:// or https:// URL",
            "sink[1].secret_env: an http sink signs its requests",
            "sink[2].name: duplicate sink name \"b\"",
            "sink[2].stream: is not a key of a file sink",
            "sink[3].url: \"redis://x\" must start with nats://",
            "sink[3].subject: subject is required for a nats sink",
        ];
        for w in want {
            assert!(
                errs.iter().any(|e| e.contains(w)),
                "missing {w:?} in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), want.len(), "{errs:#?}");
    }

    #[test]
    fn every_kind_compiles() {
        let extra = "[[sink]]\nname = \"f\"\nkind = \"file\"\npath = \"e.jsonl\"\n\n\
             [[sink]]\nname = \"h\"\nkind = \"http\"\nurl = \"http://127.0.0.1:1/e\"\nsecret_env = \"S\"\ntimeout = \"2s\"\n\n\
             [[sink]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1\"\nstream = \"s\"\nmaxlen = 10\n\n\
             [[sink]]\nname = \"n\"\nkind = \"nats\"\nurl = \"nats://127.0.0.1\"\nsubject = \"x.y\"\nstream = \"X\"\n";
        let s = load_str(
            &format!("{BASE}{extra}"),
            "t.toml",
            &|_| Some("s".into()),
            1,
        )
        .unwrap();
        let kinds: Vec<_> = s.pipeline.sinks.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, ["file", "http", "redis", "nats"]);
    }
}
