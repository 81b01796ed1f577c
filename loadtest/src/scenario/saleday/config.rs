//! The sale day's switchyard config (a compressed day: the watchdog and refund
//! schedules below NPCI's floor on purpose, `npci_floor = false`).

use std::net::SocketAddr;
use std::path::Path;

use super::{GATEWAYS, SaleDay};

pub(super) fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

pub(super) fn config_text(
    d: &SaleDay,
    listen: SocketAddr,
    admin: SocketAddr,
    dir: &Path,
    gws: &[SocketAddr],
) -> String {
    let t = d.ttl.as_secs().max(1);
    let step = (t / 3).max(1);
    let mut s = format!(
        r#"[server]
listen = "{listen}"
request_timeout = "3s"
max_attempts = 2

[admin]
listen = "{admin}"
token_env = "SALEDAY_ADMIN"

[ledger]
path = "{ledger}"
synchronous = "full"

[callbacks]
orphan_grace = "{step}s"
late_success_refund = true

[refunds]
first_check_after = "{step}s"
check_interval = "{step}s"
# Twelve steps outlast gateway c's outage, so a refund it never got is sent again
# once it is back rather than failed.
max_checks = 12
scan_interval = "1s"

[refunds.auto]
tpv_failed = true
duplicate_payment = true
late_success = true

[watchdog]
# A compressed day: below NPCI's floor on purpose (the documented override).
npci_floor = false
ttl = "{t}s"
first_check_after = "{step}s"
check_interval = "{step}s"
max_checks = 3
scan_interval = "1s"
expire_after = "{t}s"

[[sink]]
name = "file"
kind = "file"
path = "{sink}"
"#,
        ledger = dir.join("ledger.db").display(),
        sink = dir.join("events.jsonl").display(),
    );
    for (name, addr) in GATEWAYS.iter().zip(gws) {
        s.push_str(&format!(
            "\n[[gateway]]\nname = \"{name}\"\nconnector = \"generic\"\nbase_url = \"http://{addr}\"\n\
             webhook_secret_env = \"SALEDAY_SECRET\"\nconnect_timeout = \"500ms\"\ntimeout = \"1s\"\n"
        ));
    }
    s.push_str(
        "\n[[route]]\nname = \"default\"\nsplit = [{ gateway = \"a\", weight = 50 }, \
         { gateway = \"b\", weight = 30 }, { gateway = \"c\", weight = 20 }]\nfallback = [\"a\", \"b\", \"c\"]\n",
    );
    s
}
