//! Records sent to a syslog receiver as RFC 5424 messages.
//!
//! A receiver may go away and come back. While it is away, records are
//! not held back: each one fails at once and the output queue counts it
//! as failed, so that the other destinations (an output file) and the
//! ring buffer reader keep going. New connections are attempted with
//! exponential backoff, so that a dead receiver costs one connection
//! attempt per backoff period and not one per record.

pub mod backoff;
pub mod message;
pub mod transport;

use std::{io, time::Instant};

use log::{debug, info, warn};

use super::{
    alert::Severity,
    event::{Event, EventKind},
};
use backoff::Backoff;
use message::{severity, Header, FACILITY_DAEMON};
use transport::{Connection, Target};

/// Largest message sent in one UDP datagram: the IPv4 UDP payload limit.
const MAX_DATAGRAM: usize = 65_507;

/// Sends records to one syslog receiver.
pub struct SyslogWriter {
    target: Target,
    /// `None` while the receiver is unavailable.
    connection: Option<Connection>,
    backoff: Backoff,
    /// Records not sent since the connection was lost; `None` while
    /// connected.
    outage: Option<u64>,
    hostname: String,
    proc_id: u32,
}

impl SyslogWriter {
    /// Connects to `target`; fails when a TCP receiver does not accept
    /// the connection or the unix socket does not exist.
    pub fn open(target: Target, hostname: String) -> io::Result<Self> {
        let connection = Connection::open(&target)?;
        Ok(Self {
            target,
            connection: Some(connection),
            backoff: Backoff::default(),
            outage: None,
            hostname,
            proc_id: std::process::id(),
        })
    }

    /// Sends one record, or returns the error that kept it from the
    /// receiver; the caller counts the record as failed.
    ///
    /// A failed send on an open connection is retried once on a new one,
    /// because a receiver that restarted or closed an idle connection
    /// accepts a new one at once. After that the receiver counts as
    /// unavailable: records fail without a connection attempt until the
    /// backoff allows the next one. UDP has no connection, so a UDP error
    /// (the kernel reports an ICMP port unreachable on a later send) fails
    /// that record only.
    pub fn write(&mut self, event: &Event, json: &[u8]) -> io::Result<()> {
        let header = Header {
            facility: FACILITY_DAEMON,
            severity: severity_of(event),
            // NOTE: this parses back the time that the event formatted, once
            // per message on the writer thread; the header could take the text.
            time: chrono::DateTime::parse_from_rfc3339(event.time.as_str())
                .map_or_else(|_| chrono::Utc::now(), |time| time.to_utc()),
            hostname: &self.hostname,
            app_name: "nstrace",
            proc_id: self.proc_id,
            msg_id: event.event.name(),
        };
        let message = message::format(&header, json);
        if !matches!(self.target, Target::Tcp(_)) && message.len() > MAX_DATAGRAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "message of {} bytes exceeds one datagram ({MAX_DATAGRAM} bytes)",
                    message.len()
                ),
            ));
        }
        if let Target::Udp(_) = self.target {
            if let Some(connection) = self.connection.as_mut() {
                return connection.send(&message);
            }
        }
        let result = self.send(&message);
        if result.is_err() {
            if let Some(count) = self.outage.as_mut() {
                *count += 1;
            }
        }
        result
    }

    /// Sends on the open connection, or on a new one when the backoff
    /// allows an attempt.
    fn send(&mut self, message: &[u8]) -> io::Result<()> {
        if let Some(connection) = self.connection.as_mut() {
            let Err(error) = connection.send(message) else {
                return Ok(());
            };
            self.connection = None;
            self.outage = Some(0);
            warn!(
                "syslog: connection to {} lost: {error}; reconnecting with backoff",
                self.target
            );
        }
        let now = Instant::now();
        if !self.backoff.due(now) {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("syslog receiver {} is unavailable", self.target),
            ));
        }
        let attempt = Connection::open(&self.target).and_then(|mut connection| {
            connection.send(message)?;
            Ok(connection)
        });
        match attempt {
            Ok(connection) => {
                self.connection = Some(connection);
                self.backoff.reset();
                if let Some(count) = self.outage.take() {
                    info!(
                        "syslog: connected to {} again; {count} records were not sent while it was unavailable",
                        self.target
                    );
                }
                Ok(())
            }
            Err(error) => {
                let delay = self.backoff.fail(now);
                debug!(
                    "syslog: connecting to {} failed, next attempt in {delay:?}: {error}",
                    self.target
                );
                Err(error)
            }
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

#[cfg(test)]
mod tests {
    use std::{
        io::Read,
        net::{TcpListener, TcpStream},
        thread,
        time::Duration,
    };

    use super::*;
    use crate::output::{
        enrichment::Enrichment,
        event::{Body, Loss, SCHEMA},
        timestamp::Timestamp,
    };

    fn loss_event() -> Event {
        Event {
            schema: SCHEMA,
            time: Timestamp::parse("2026-01-02T03:04:05.000000006Z"),
            event: EventKind::Loss,
            host: "test".into(),
            body: Body::Loss(Loss {
                kind: "syscall",
                count: 1,
                total: 1,
            }),
            enrichment: Enrichment::default(),
        }
    }

    /// Reads octet-counted frames until the peer closes the connection.
    fn read_frames(mut stream: TcpStream) -> usize {
        let mut received = String::new();
        stream.read_to_string(&mut received).unwrap();
        received.matches("<28>1 ").count()
    }

    #[test]
    fn tcp_reconnects_after_backoff() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let mut writer = SyslogWriter::open(Target::Tcp(address), "test".to_string()).unwrap();
        let (peer, _) = listener.accept().unwrap();
        let event = loss_event();
        writer.write(&event, b"{}").unwrap();

        // The receiver goes away: its listener and connection close.
        drop(listener);
        drop(peer);
        thread::sleep(Duration::from_millis(20));
        assert!(writer.write(&event, b"{}").is_err(), "send after the close");
        let error = writer.write(&event, b"{}").unwrap_err();
        assert_eq!(
            error.kind(),
            io::ErrorKind::NotConnected,
            "no connection attempt before the backoff wait: {error}"
        );
        assert_eq!(writer.outage, Some(2));

        // It comes back on the same port; the next attempt after the wait
        // connects and sends.
        let listener = TcpListener::bind(address).unwrap();
        thread::sleep(backoff::INITIAL_DELAY);
        writer.write(&event, b"{}").unwrap();
        assert_eq!(writer.outage, None);
        let (peer, _) = listener.accept().unwrap();
        drop(writer);
        assert_eq!(read_frames(peer), 1);
    }
}
