//! `[[alert]]`: webhook name (unique), URL inline or by `url_env`, the least severe
//! alert it receives, and a per-attempt timeout.

use std::collections::HashSet;

use super::{duration, http_url, one_of, secret_ref};
use crate::alerts::AlertSpec;
use crate::alerts::Severity;
use crate::config::EnvLookup;
use crate::config::raw::RawAlert;
use crate::config::spans::Diagnostics;
use crate::model::Secret;

pub(crate) fn validate(
    raw: &[RawAlert],
    env: EnvLookup<'_>,
    diag: &mut Diagnostics<'_>,
) -> Vec<AlertSpec> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, a) in raw.iter().enumerate() {
        let at = format!("alert[{i}]");
        let name = match a.name.as_deref() {
            None => {
                diag.error(&format!("{at}.name"), "name is required");
                format!("alert{i}")
            }
            Some(n) if n.trim().is_empty() => {
                diag.error(&format!("{at}.name"), "must not be empty");
                format!("alert{i}")
            }
            Some(n) => {
                if !seen.insert(n.to_string()) {
                    diag.error(
                        &format!("{at}.name"),
                        format!("alert \"{n}\" is defined twice"),
                    );
                }
                n.to_string()
            }
        };
        let url = match (a.url.as_deref(), a.url_env.as_deref()) {
            (Some(_), Some(_)) => {
                diag.error(
                    &format!("{at}.url_env"),
                    "url and url_env are both set; use one",
                );
                None
            }
            (None, None) => {
                diag.error(
                    &format!("{at}.url"),
                    "url = \"https://...\" or url_env = \"NAME\" is required",
                );
                None
            }
            (Some(u), None) => http_url(diag, &format!("{at}.url"), u).then(|| Secret::new(u)),
            (None, Some(var)) => {
                let s = secret_ref(diag, env, &at, "url", Some(var), None);
                match s {
                    Some(s) if !is_http(s.expose()) => {
                        // The value is a credential: name the variable, not the URL.
                        diag.error(
                            &format!("{at}.url_env"),
                            format!(
                                "environment variable {var} must hold an http:// or https:// URL"
                            ),
                        );
                        None
                    }
                    s => s,
                }
            }
        };
        let min_severity = one_of(
            diag,
            &format!("{at}.min_severity"),
            a.min_severity.as_deref(),
            &[
                ("info", Severity::Info),
                ("warning", Severity::Warning),
                ("critical", Severity::Critical),
            ],
            Severity::Warning,
        );
        let timeout = duration(diag, &format!("{at}.timeout"), a.timeout.as_deref(), 5);
        if let Some(url) = url {
            out.push(AlertSpec {
                name,
                url,
                min_severity,
                timeout,
            });
        }
    }
    out
}

fn is_http(u: &str) -> bool {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    matches!(rest, Some(h) if !h.is_empty() && !h.starts_with('/') && !u.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use crate::alerts::Severity;
    use crate::config::load_str;

    const BASE: &str = "[[gateway]]\nname = \"a\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:1\"\n\
        [[route]]\nname = \"r\"\nsplit = [{ gateway = \"a\", weight = 1 }]\n";

    fn load(
        extra: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<crate::config::Snapshot, crate::config::ConfigErrors> {
        load_str(&format!("{BASE}{extra}"), "t.toml", env, 1)
    }

    #[test]
    fn alert_by_env_and_inline() {
        let snap = load(
            "[[alert]]\nname = \"slack\"\nurl_env = \"HOOK\"\nmin_severity = \"critical\"\n\
             [[alert]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9/x\"\ntimeout = \"2s\"\n",
            &|k| (k == "HOOK").then(|| "https://hooks.example/T0/B0/secret".to_string()),
        )
        .unwrap();
        assert_eq!(snap.alerts.len(), 2);
        assert_eq!(snap.alerts[0].min_severity, Severity::Critical);
        assert_eq!(snap.alerts[1].min_severity, Severity::Warning);
        assert_eq!(snap.alerts[1].timeout.as_secs(), 2);
    }

    #[test]
    fn every_alert_error_at_once_without_the_secret() {
        let errs = load(
            "[[alert]]\nname = \"a\"\n\
             [[alert]]\nname = \"a\"\nurl_env = \"HOOK\"\nmin_severity = \"loud\"\n",
            &|_| Some("not-a-url-s3cr3t".to_string()),
        )
        .unwrap_err();
        let text = errs.to_string();
        assert!(text.contains("alert[0].url"), "{text}");
        assert!(text.contains("defined twice"), "{text}");
        assert!(text.contains("alert[1].min_severity"), "{text}");
        assert!(text.contains("must hold an http"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
