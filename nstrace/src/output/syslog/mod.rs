//! Records sent to a syslog receiver as RFC 5424 messages.

pub mod message;
pub mod transport;

use std::io;

use log::warn;

use super::{
    alert::Severity,
    event::{Event, EventKind},
};
use message::{severity, Header, FACILITY_DAEMON};
use transport::{Connection, Target};

/// Largest message sent in one UDP datagram: the IPv4 UDP payload limit.
const MAX_DATAGRAM: usize = 65_507;

/// Sends records to one syslog receiver.
pub struct SyslogWriter {
    target: Target,
    connection: Option<Connection>,
    hostname: String,
    proc_id: u32,
    /// Messages that could not be sent.
    dropped: u64,
}

impl SyslogWriter {
    /// Connects to `target`; fails when a TCP receiver does not accept
    /// the connection or the unix socket does not exist.
    pub fn open(target: Target, hostname: String) -> io::Result<Self> {
        let connection = Connection::open(&target)?;
        Ok(Self {
            target,
            connection: Some(connection),
            hostname,
            proc_id: std::process::id(),
            dropped: 0,
        })
    }

    /// Sends one record. A failed send is retried once on a new
    /// connection. A record that still fails is dropped with a warning
    /// (the first and then every 1000th), so that a receiver that restarts
    /// does not stop the tracer.
    pub fn write(&mut self, event: &Event, json: &[u8]) -> io::Result<()> {
        let header = Header {
            facility: FACILITY_DAEMON,
            severity: severity_of(event),
            time: chrono::DateTime::parse_from_rfc3339(event.time.as_str())
                .map_or_else(|_| chrono::Utc::now(), |time| time.to_utc()),
            hostname: &self.hostname,
            app_name: "nstrace",
            proc_id: self.proc_id,
            msg_id: event.event.name(),
        };
        let message = message::format(&header, json);
        if !matches!(self.target, Target::Tcp(_)) && message.len() > MAX_DATAGRAM {
            self.drop_message(&io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("message of {} bytes exceeds one datagram", message.len()),
            ));
            return Ok(());
        }
        if let Some(connection) = self.connection.as_mut() {
            if connection.send(&message).is_ok() {
                return Ok(());
            }
        }
        // Reconnect once; a TCP receiver may have closed the connection.
        self.connection = None;
        let result = Connection::open(&self.target).and_then(|mut connection| {
            connection.send(&message)?;
            self.connection = Some(connection);
            Ok(())
        });
        if let Err(error) = result {
            self.drop_message(&error);
        }
        Ok(())
    }

    fn drop_message(&mut self, error: &io::Error) {
        self.dropped += 1;
        if self.dropped == 1 || self.dropped.is_multiple_of(1000) {
            warn!(
                "syslog: sending to {} failed, {} records dropped so far: {error}",
                self.target, self.dropped
            );
        }
    }
}

/// Syslog severity of a record: from its alert, else by kind.
fn severity_of(event: &Event) -> u8 {
    if let Some(alert) = &event.enrichment.alert {
        return match alert.severity {
            Severity::Critical => severity::CRITICAL,
            Severity::High => severity::ERROR,
            Severity::Medium => severity::WARNING,
            Severity::Low => severity::NOTICE,
        };
    }
    match event.event {
        EventKind::NsCreate
        | EventKind::NsEnter
        | EventKind::Mount
        | EventKind::NsSeen
        | EventKind::NsDestroy
        | EventKind::NsAlive
        | EventKind::Health => severity::INFORMATIONAL,
        EventKind::Start | EventKind::Stop => severity::NOTICE,
        EventKind::Loss => severity::WARNING,
    }
}
