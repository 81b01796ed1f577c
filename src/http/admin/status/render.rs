//! The status page as one HTML document: no external assets (inline CSS, an inline
//! SVG per sparkline, a few lines of JS that re-fetch the page and swap `<main>`),
//! readable on a phone (viewport meta, cards that stack). Every dynamic string goes
//! through [`esc`].

use std::fmt::Write;

use super::view::{GatewayRow, Incident, StatusView};
use super::words::{ist_full, ist_hm, pct, thousands};

/// Seconds between refreshes.
pub const REFRESH_SECS: u32 = 10;

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:baseline}
header h1{font-size:18px;margin:0}header .meta{font-size:13px;opacity:.8}
main{max-width:1100px;margin:0 auto;padding:12px}
section{background:#fff;border-radius:8px;padding:12px 14px;margin:0 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:15px;margin:0 0 8px;text-transform:uppercase;letter-spacing:.04em;color:#566}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:10px}
.card{border:1px solid #e2e5ea;border-radius:6px;padding:10px}
.card h3{margin:0 0 4px;font-size:16px;display:flex;justify-content:space-between;gap:8px}
.state{font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;text-transform:uppercase;white-space:nowrap}
.s-healthy{background:#dff5e3;color:#17692b}.s-ejected{background:#fde0e0;color:#a01818}
.s-probing,.s-ramping{background:#fff1cc;color:#7a5500}.s-drained{background:#e6e8ee;color:#444}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:6px 0;font-size:13px}dt{color:#667}dd{margin:0;font-variant-numeric:tabular-nums}
.incident,.incident.s-ejected{border-left:4px solid #c62828;padding:8px 10px;margin:0 0 8px;background:#fff7f7;color:#1d2330}
.incident.s-probing,.incident.s-ramping{border-color:#e0a800;background:#fffbeb;color:#1d2330}.incident.s-drained{border-color:#889;background:#f7f7f9;color:#1d2330}
.customer{margin-top:6px;padding:6px 8px;background:#eef4ff;border-radius:4px;font-size:14px}
.ok{color:#17692b}.bad{color:#a01818}.muted{color:#778}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eceef1}
th{color:#667;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}ul{margin:0;padding-left:18px}li{margin:2px 0}
svg.spark{display:block;width:100%;height:28px}
@media (max-width:600px){body{font-size:14px}main{padding:6px}section{padding:10px}header h1{font-size:16px}}
"#;

const JS: &str = r#"
(function(){var secs=REFRESH;var b=document.getElementById('pause');var paused=false;
if(b)b.onclick=function(){paused=!paused;b.textContent=paused?'resume':'pause';};
setInterval(function(){if(paused||document.hidden)return;
fetch(location.href,{credentials:'same-origin',headers:{'Accept':'text/html'}})
.then(function(r){return r.ok?r.text():null}).then(function(t){if(!t)return;
var d=new DOMParser().parseFromString(t,'text/html');var m=d.querySelector('main');
var s=d.getElementById('stamp');if(m){document.querySelector('main').replaceWith(m);}
if(s){document.getElementById('stamp').textContent=s.textContent;}}).catch(function(){});},secs*1000);})();
"#;

/// The whole page.
pub fn page(v: &StatusView) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let stamp = v.now.map(ist_full).unwrap_or_default();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>switchyard status</title><style>{CSS}</style></head><body>\
<header><h1>switchyard status</h1><span class=\"meta\">updated <span id=\"stamp\">{}</span> · \
refreshes every {REFRESH_SECS}s <button id=\"pause\" type=\"button\">pause</button></span>{}</header><main>",
        esc(&stamp),
        if v.dry_run {
            "<span class=\"meta\">health in DRY RUN: nothing is ejected automatically</span>"
        } else {
            ""
        }
    );
    incidents(&mut h, v);
    gateways(&mut h, v);
    routes(&mut h, v);
    transitions(&mut h, v);
    pipeline(&mut h, v);
    config(&mut h, v);
    let _ = write!(
        h,
        "</main><script>{}</script></body></html>",
        JS.replace("REFRESH", &REFRESH_SECS.to_string())
    );
    h
}

fn incidents(h: &mut String, v: &StatusView) {
    h.push_str("<section id=\"incidents\"><h2>Active incidents</h2>");
    if v.incidents.is_empty() {
        h.push_str("<p class=\"ok\">No active incidents: every gateway is healthy.</p>");
    }
    for i in &v.incidents {
        incident(h, i);
    }
    h.push_str("</section>");
}

fn incident(h: &mut String, i: &Incident) {
    let since = i
        .since
        .map(|t| format!(" since {}", ist_hm(t)))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<div class=\"incident s-{}\"><strong>{}</strong> is <strong>{}</strong>{}<br>\
<span>{}</span><br><span class=\"muted\">Next: {}</span>\
<div class=\"customer\"><strong>Tell customers:</strong> {}</div></div>",
        esc(&i.state),
        esc(&i.subject),
        esc(&i.state),
        esc(&since),
        esc(&i.evidence),
        esc(&i.next),
        esc(&i.customer),
    );
}

fn gateways(h: &mut String, v: &StatusView) {
    let _ = write!(
        h,
        "<section id=\"gateways\"><h2>Gateways (last {})</h2><div class=\"grid\">",
        esc(&humantime::format_duration(std::time::Duration::from_secs(v.window_secs)).to_string())
    );
    for g in &v.gateways {
        gateway(h, g);
    }
    h.push_str("</div></section>");
}

fn gateway(h: &mut String, g: &GatewayRow) {
    let (ok, n) = g.success;
    let success = if n > 0 {
        format!("{} of {}", pct(ok as f64 / n as f64), thousands(n))
    } else {
        "no payments yet".to_string()
    };
    let ratio_5xx = if g.attempts > 0 {
        pct(g.errors_5xx as f64 / g.attempts as f64)
    } else {
        "–".to_string()
    };
    let p95 = g
        .p95_ms
        .map_or("–".to_string(), |p| format!("≤ {} ms", thousands(p)));
    let since = g.since.map(ist_hm).unwrap_or_default();
    let _ = write!(
        h,
        "<div class=\"card\" data-gateway=\"{name}\"><h3><span>{name}</span>\
<span class=\"state s-{state}\">{state}{frozen}</span></h3>{spark}<dl>\
<dt>success</dt><dd>{success}</dd><dt>p95 latency</dt><dd>{p95}</dd>\
<dt>5xx + timeouts</dt><dd>{ratio_5xx} of {attempts} attempts</dd><dt>since</dt><dd>{since}</dd></dl></div>",
        name = esc(&g.name),
        state = esc(g.state),
        frozen = if g.frozen { " · frozen" } else { "" },
        spark = sparkline(&g.spark),
        attempts = thousands(g.attempts),
        since = esc(&since),
    );
}

/// An inline SVG of success ratios (0..=1), one polyline per run of known points.
pub fn sparkline(points: &[Option<f64>]) -> String {
    let w = 120.0;
    let step = if points.len() > 1 {
        w / (points.len() - 1) as f64
    } else {
        w
    };
    let mut runs: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, p) in points.iter().enumerate() {
        match p {
            Some(r) => {
                let y = 26.0 - r.clamp(0.0, 1.0) * 24.0;
                let _ = write!(cur, "{:.1},{:.1} ", i as f64 * step, y);
            }
            None if !cur.is_empty() => runs.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    let mut svg = String::from(
        "<svg class=\"spark\" viewBox=\"0 0 120 28\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"success ratio over the window\">\
<line x1=\"0\" y1=\"2\" x2=\"120\" y2=\"2\" stroke=\"#dde\" stroke-width=\"0.5\"/>",
    );
    for r in runs {
        let single = r.split_whitespace().count() == 1;
        if single {
            let (x, y) = r.trim().split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                svg,
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"1.5\" fill=\"#2c6fbb\"/>"
            );
        } else {
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"#2c6fbb\" stroke-width=\"1.5\" points=\"{}\"/>",
                r.trim()
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

fn routes(h: &mut String, v: &StatusView) {
    h.push_str("<section id=\"routes\"><h2>Effective weights</h2><div class=\"scroll\"><table>\
<tr><th>route</th><th>gateway</th><th>state</th><th class=\"n\">configured</th><th class=\"n\">now</th></tr>");
    for r in &v.routes {
        for (i, (gw, conf, eff, state)) in r.split.iter().enumerate() {
            let route = if i == 0 {
                let mut s = esc(&r.name);
                if r.panic {
                    s.push_str(" <span class=\"bad\">(panic mode)</span>");
                }
                if r.ecosystem_outage {
                    s.push_str(" <span class=\"bad\">(ecosystem outage)</span>");
                }
                s
            } else {
                String::new()
            };
            let cls = if eff < conf { " bad" } else { "" };
            let _ = write!(
                h,
                "<tr><td>{route}</td><td>{}</td><td>{}</td><td class=\"n\">{:.1}%</td><td class=\"n{cls}\">{:.1}%</td></tr>",
                esc(gw),
                esc(state),
                *conf as f64 / 10.0,
                *eff as f64 / 10.0
            );
        }
        if !r.fallback.is_empty() {
            let _ = write!(
                h,
                "<tr><td></td><td colspan=\"4\" class=\"muted\">fallback: {}</td></tr>",
                esc(&r.fallback.join(" → "))
            );
        }
    }
    h.push_str("</table></div></section>");
}

fn transitions(h: &mut String, v: &StatusView) {
    h.push_str("<section id=\"transitions\"><h2>Last transitions</h2>");
    if v.transitions.is_empty() {
        h.push_str("<p class=\"muted\">None since the last restart.</p>");
    } else {
        h.push_str("<ul>");
        for t in &v.transitions {
            let _ = write!(
                h,
                "<li><strong>{}</strong> {}</li>",
                esc(&t.subject),
                esc(&t.line)
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</section>");
}

fn opt(v: Option<i64>) -> String {
    v.map_or("–".to_string(), |n| thousands(n.max(0) as u64))
}

fn pipeline(h: &mut String, v: &StatusView) {
    let p = &v.pipeline;
    let age = p.oldest_age_secs.map_or("–".to_string(), |a| {
        humantime::format_duration(std::time::Duration::from_secs(a.max(0.0) as u64)).to_string()
    });
    let _ = write!(
        h,
        "<section id=\"pipeline\"><h2>Callbacks and events</h2><dl>\
<dt>event backlog</dt><dd>{}</dd><dt>oldest pending</dt><dd>{}</dd>\
<dt>dead letters</dt><dd>{}</dd><dt>orphan callbacks</dt><dd>{}</dd>\
<dt>stale payments</dt><dd>{}</dd></dl></section>",
        opt(p.backlog),
        esc(&age),
        opt(p.dead_letters),
        opt(p.orphans),
        opt(p.stale_payments),
    );
}

fn config(h: &mut String, v: &StatusView) {
    let c = &v.config;
    let _ = write!(
        h,
        "<section id=\"config\"><h2>Config</h2><dl><dt>generation</dt><dd>{}</dd>",
        c.generation
    );
    if !v.public {
        let _ = write!(h, "<dt>source</dt><dd>{}</dd>", esc(&c.source));
    }
    match &c.last_reload {
        None => h.push_str("<dt>last reload</dt><dd class=\"muted\">none since start</dd>"),
        Some(r) => {
            let _ = write!(
                h,
                "<dt>last reload</dt><dd class=\"{}\">{} at {} ({}), generation {}</dd>",
                if r.ok { "ok" } else { "bad" },
                if r.ok { "applied" } else { "refused" },
                esc(&ist_full(r.at)),
                esc(r.trigger),
                r.generation
            );
            if !v.public && !r.lines.is_empty() {
                h.push_str("<dt></dt><dd><ul>");
                for l in &r.lines {
                    let _ = write!(h, "<li>{}</li>", esc(l));
                }
                h.push_str("</ul></dd>");
            }
        }
    }
    h.push_str("</dl></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn sparkline_breaks_at_gaps() {
        let svg = sparkline(&[Some(1.0), Some(0.5), None, Some(0.9)]);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(sparkline(&[None, None]).ends_with("</svg>"));
    }
}
