//! Manual control: drain, restore, freeze, unfreeze, eject — each with a reason,
//! an optional TTL, and an event that is audited like any automatic transition.

use std::time::Duration;

use serde_json::json;

use super::controller::{Controller, Event};
use super::detectors::Trigger;
use super::machine::State;
use crate::alerts::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// 0% until restored (or until the TTL).
    Drain,
    /// Back to healthy at full weight, strikes forgiven.
    Restore,
    /// No automatic changes (until unfrozen or the TTL).
    Freeze,
    Unfreeze,
    /// Out now; probing after the TTL (default: the base cooldown).
    Eject,
}

impl Command {
    pub fn parse(s: &str) -> Option<Command> {
        Some(match s {
            "drain" => Command::Drain,
            "restore" => Command::Restore,
            "freeze" => Command::Freeze,
            "unfreeze" => Command::Unfreeze,
            "eject" => Command::Eject,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Command::Drain => "drain",
            Command::Restore => "restore",
            Command::Freeze => "freeze",
            Command::Unfreeze => "unfreeze",
            Command::Eject => "eject",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("no gateway named \"{0}\" in the config")]
    UnknownGateway(String),
}

impl Controller {
    /// Applies a manual command at `now_ms`; returns the (audited) event.
    pub fn command(
        &mut self,
        now_ms: u64,
        gateway: &str,
        cmd: Command,
        reason: &str,
        ttl: Option<Duration>,
        actor: &str,
    ) -> Result<Event, CommandError> {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        let cooldown = self.policy.cooldown.as_millis() as u64;
        let Some(g) = self.gateways.get_mut(gateway) else {
            return Err(CommandError::UnknownGateway(gateway.to_string()));
        };
        let until = ttl.map(|t| now + t.as_millis() as u64);
        let from = g.machine.state.name();
        match cmd {
            Command::Drain => {
                g.machine.state = State::Drained;
                g.machine.manual_until_ms = until;
            }
            Command::Restore => {
                g.machine.state = State::Healthy;
                g.machine.strikes = 0;
                g.machine.manual_until_ms = None;
                g.machine.healthy_since_ms = now;
            }
            Command::Freeze => g.machine.frozen_until_ms = Some(until.unwrap_or(u64::MAX)),
            Command::Unfreeze => g.machine.frozen_until_ms = None,
            Command::Eject => {
                g.machine.state = State::Ejected {
                    until_ms: until.unwrap_or(now + cooldown),
                };
            }
        }
        if from != g.machine.state.name() {
            g.entered_ms = now;
            g.since = Default::default();
            g.consecutive = 0;
        }
        let to = g.machine.state.name();
        let mut e = self.manual_event(gateway, cmd.as_str(), reason);
        e.from = from;
        e.to = to;
        e.actor = actor.to_string();
        e.evidence = json!({"command": cmd.as_str(), "ttl_secs": ttl.map(|t| t.as_secs())});
        self.push(e.clone());
        Ok(e)
    }

    /// An audited event for a manual action (or its TTL running out).
    pub(crate) fn manual_event(&self, name: &str, what: &str, reason: &str) -> Event {
        let state = self
            .gateways
            .get(name)
            .map_or("healthy", |g| g.machine.state.name());
        let mut e = self.event(
            "manual",
            Severity::Warning,
            name,
            state,
            state,
            Trigger::Manual,
            format!("{name}: {what} ({reason})"),
            json!({"command": what}),
        );
        e.reason = Some(reason.to_string());
        e.transition = true;
        e
    }
}
