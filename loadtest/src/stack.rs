//! The system under test as real processes: `switchyard sandbox` (generic gateways
//! `a` and `b`, plus a control listener that stays up while a gateway is down) and
//! `switchyard serve` (route `default` = a 90 / b 10 unless [`StackOptions::split`]
//! says otherwise, fallback a, b; ledger with `synchronous = "full"`), both from the given binary (the release build for
//! benchmarks) with a generated config on free loopback ports, in a temp dir. They
//! are stopped (SIGTERM, then SIGKILL) by [`Stack::stop`] or on drop.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The webhook secret of both gateways (the `callbacks` scenario signs with it).
pub const WEBHOOK_SECRET: &str = "loadtest-secret";
/// The admin bearer token.
pub const ADMIN_TOKEN: &str = "loadtest-admin";

/// How to start the stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The `switchyard` binary.
    pub bin: PathBuf,
    /// Sandbox callbacks for accepted payments (to switchyard's `/v1/callbacks/{gateway}`).
    pub sandbox_callbacks: bool,
    /// Adds `[[sink]] name = "file", kind = "file"` (the forwarder's file sink).
    pub file_sink: bool,
    /// Route `default`'s split weights for `a` and `b`.
    pub split: (u32, u32),
}

impl StackOptions {
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        StackOptions {
            bin: bin.into(),
            sandbox_callbacks: false,
            file_sink: false,
            split: (90, 10),
        }
    }
}

/// The `switchyard` binary beside this loadtest binary (same target directory and
/// profile, wherever `CARGO_TARGET_DIR` puts them), else the workspace's
/// `target/release/switchyard`, else `target/debug/switchyard`.
pub fn default_bin() -> PathBuf {
    let name = format!("switchyard{}", std::env::consts::EXE_SUFFIX);
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let beside = dir.join(&name);
        if beside.exists() {
            return beside;
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = root.join("target/release").join(&name);
    if release.exists() {
        return release;
    }
    root.join("target/debug").join(&name)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running sandbox + switchyard.
pub struct Stack {
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub ledger_path: PathBuf,
    pub sink_path: Option<PathBuf>,
    /// switchyard's public listener.
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    /// The sandbox control listener (`/_sandbox/{a|b}`).
    pub control: SocketAddr,
    /// Sandbox gateways `a` and `b`.
    pub gateways: [(&'static str, SocketAddr); 2],
    sandbox: Option<Child>,
    switchyard: Option<Child>,
}

impl Stack {
    pub async fn start(opts: &StackOptions) -> anyhow::Result<Stack> {
        if !opts.bin.exists() {
            bail!(
                "{} does not exist: build it with `cargo build --release --bin switchyard`",
                opts.bin.display()
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "switchyard-lt-{}-{}",
            std::process::id(),
            crate::payload::run_id()
        ));
        // The config in its own directory, as in a deployment: switchyard watches the
        // config's directory for changes, and every ledger or sink write in it would
        // wake that watcher (measured: ~15% of switchyard's CPU under callbacks).
        std::fs::create_dir_all(dir.join("config"))?;
        let lo = |p| SocketAddr::from(([127, 0, 0, 1], p));
        let mut stack = Stack {
            config_path: dir.join("config/switchyard.toml"),
            ledger_path: dir.join("ledger.db"),
            sink_path: opts.file_sink.then(|| dir.join("events.jsonl")),
            listen: lo(free_port()?),
            admin: lo(free_port()?),
            control: lo(free_port()?),
            gateways: [("a", lo(free_port()?)), ("b", lo(free_port()?))],
            dir,
            sandbox: None,
            switchyard: None,
        };
        stack.write_config(opts.split)?;
        let cb = if opts.sandbox_callbacks { "on" } else { "off" };
        let control = stack.control.to_string();
        stack.sandbox = Some(stack.spawn(
            &opts.bin,
            &["--callbacks", cb, "--control", &control],
            "sandbox",
        )?);
        for (_, a) in stack.gateways {
            stack.wait_port(a).await?;
        }
        stack.switchyard = Some(stack.spawn(&opts.bin, &[], "serve")?);
        stack.wait_port(stack.listen).await?;
        Ok(stack)
    }

    /// (Re)writes the config with the given split weights for `a` and `b`.
    pub fn write_config(&self, (wa, wb): (u32, u32)) -> anyhow::Result<()> {
        let [(_, a), (_, b)] = self.gateways;
        let mut text = format!(
            r#"[server]
listen = "{listen}"
request_timeout = "10s"
max_attempts = 2

[admin]
listen = "{admin}"
token_env = "SWITCHYARD_LT_ADMIN_TOKEN"

[ledger]
path = "{ledger}"
synchronous = "full"
"#,
            listen = self.listen,
            admin = self.admin,
            ledger = self.ledger_path.display(),
        );
        for (name, addr) in [("a", a), ("b", b)] {
            text.push_str(&format!(
                "\n[[gateway]]\nname = \"{name}\"\nconnector = \"generic\"\nbase_url = \"http://{addr}\"\n\
                 webhook_secret_env = \"SWITCHYARD_LT_WEBHOOK_SECRET\"\nconnect_timeout = \"1s\"\n\
                 timeout = \"5s\"\npool_size = 64\n"
            ));
        }
        text.push_str(&format!(
            "\n[[route]]\nname = \"default\"\nsplit = [{{ gateway = \"a\", weight = {wa} }}, \
             {{ gateway = \"b\", weight = {wb} }}]\nfallback = [\"a\", \"b\"]\n"
        ));
        if let Some(p) = &self.sink_path {
            text.push_str(&format!(
                "\n[[sink]]\nname = \"file\"\nkind = \"file\"\npath = \"{}\"\n",
                p.display()
            ));
        }
        std::fs::write(&self.config_path, text)?;
        Ok(())
    }

    fn spawn(&self, bin: &Path, extra: &[&str], cmd: &str) -> anyhow::Result<Child> {
        let log = std::fs::File::create(self.dir.join(format!("{cmd}.log")))?;
        Command::new(bin)
            .arg(cmd)
            .arg("--config")
            .arg(&self.config_path)
            .args(extra)
            .env("SWITCHYARD_LT_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("SWITCHYARD_LT_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} {cmd}", bin.display()))
    }

    /// Waits until `addr` accepts connections (the processes bind at start).
    async fn wait_port(&mut self, addr: SocketAddr) -> anyhow::Result<()> {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            for (name, c) in [
                ("sandbox", &mut self.sandbox),
                ("serve", &mut self.switchyard),
            ] {
                if let Some(Ok(Some(st))) = c.as_mut().map(Child::try_wait) {
                    let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                        .unwrap_or_default();
                    bail!("switchyard {name} exited ({st}):\n{log}");
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!(
            "{addr} did not open within 20 s (logs in {})",
            self.dir.display()
        )
    }

    pub fn payments_url(&self) -> String {
        format!("http://{}/v1/payments", self.listen)
    }

    /// Sandbox gateway `a`'s own initiation URL (the direct baseline).
    pub fn direct_url(&self) -> String {
        format!("http://{}/v1/payments", self.gateways[0].1)
    }

    pub fn switchyard_pid(&self) -> Option<u32> {
        self.switchyard.as_ref().map(Child::id)
    }

    /// Bytes of the ledger files (database and WAL).
    pub fn ledger_bytes(&self) -> u64 {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|s| {
                let p = format!("{}{s}", self.ledger_path.display());
                std::fs::metadata(p).ok().map(|m| m.len())
            })
            .sum()
    }

    /// Sends SIGTERM to both processes, waits up to 5 s each, then kills what is left.
    pub fn stop(&mut self) {
        for c in [self.switchyard.take(), self.sandbox.take()]
            .into_iter()
            .flatten()
        {
            stop_child(c);
        }
        if std::env::var_os("LOADTEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends `signal` (e.g. `HUP`) to `pid` with `kill(1)`.
pub fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let st = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()?;
    if !st.success() {
        bail!("kill -{signal} {pid}: {st}");
    }
    Ok(())
}

fn stop_child(mut c: Child) {
    let _ = signal(c.id(), "TERM");
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Resident set (kB, `VmRSS`) and open file descriptors of a process, from `/proc`.
pub fn proc_sample(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss, fds))
}
