//! The switchyard child process of the sale day (killed with SIGKILL mid-run).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{ADMIN, SECRET};

pub(super) struct Proc {
    pub bin: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub listen: SocketAddr,
    pub child: Option<Child>,
}

impl Proc {
    pub(super) async fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("SALEDAY_SECRET", SECRET)
            .env("SALEDAY_ADMIN", ADMIN)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if tokio::net::TcpStream::connect(self.listen).await.is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("switchyard exited ({st}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("switchyard did not open {} in 30 s", self.listen)
    }

    /// SIGKILL: no shutdown path runs.
    pub(super) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}
