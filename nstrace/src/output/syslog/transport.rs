//! Transports of syslog messages: a unix datagram socket, UDP (RFC 5426)
//! and TCP with octet-counted framing (RFC 6587 section 3.4.1).

use std::{
    fmt,
    io::{self, Write},
    net::{SocketAddr, TcpStream, UdpSocket},
    os::{fd::AsRawFd, unix::net::UnixDatagram},
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use nix::{
    errno::Errno,
    sys::socket::{recv, MsgFlags},
};
use thiserror::Error;

/// How long a TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one send may block on a receiver that does not read: a TCP
/// connection or unix socket whose buffer is full.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Destination of syslog messages, as given to `--syslog`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `unix:/path`: a unix datagram socket, such as `/dev/log`.
    Unix(PathBuf),
    /// `udp:HOST:PORT`.
    Udp(SocketAddr),
    /// `tcp:HOST:PORT`.
    Tcp(SocketAddr),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    #[error(
        "invalid syslog target {0:?}: expected unix:/path, udp:ADDRESS:PORT or tcp:ADDRESS:PORT"
    )]
    Scheme(String),
    #[error(
        "invalid syslog address {0:?}: expected an IP address and port, such as 127.0.0.1:514"
    )]
    Address(String),
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = text
            .split_once(':')
            .ok_or_else(|| TargetError::Scheme(text.to_string()))?;
        let address = || {
            rest.parse::<SocketAddr>()
                .map_err(|_| TargetError::Address(rest.to_string()))
        };
        match scheme {
            "unix" if rest.starts_with('/') => Ok(Target::Unix(PathBuf::from(rest))),
            "udp" => Ok(Target::Udp(address()?)),
            "tcp" => Ok(Target::Tcp(address()?)),
            _ => Err(TargetError::Scheme(text.to_string())),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
            Target::Udp(address) => write!(f, "udp:{address}"),
            Target::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// An open connection to a syslog receiver.
pub enum Connection {
    Unix(UnixDatagram),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Connection {
    /// Connects to `target`. For UDP and unix sockets this only sets the
    /// peer address; for TCP it opens the connection.
    pub fn open(target: &Target) -> io::Result<Self> {
        match target {
            Target::Unix(path) => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(path)?;
                socket.set_write_timeout(Some(SEND_TIMEOUT))?;
                Ok(Connection::Unix(socket))
            }
            Target::Udp(address) => {
                let local: SocketAddr = if address.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let socket = UdpSocket::bind(local)?;
                socket.connect(address)?;
                Ok(Connection::Udp(socket))
            }
            Target::Tcp(address) => {
                let stream = TcpStream::connect_timeout(address, CONNECT_TIMEOUT)?;
                stream.set_nodelay(true)?;
                stream.set_write_timeout(Some(SEND_TIMEOUT))?;
                Ok(Connection::Tcp(stream))
            }
        }
    }

    /// Sends one message: one datagram, or `LENGTH SP MESSAGE` on TCP.
    /// After an error the connection must be dropped, because a TCP frame
    /// may have been sent in part.
    pub fn send(&mut self, message: &[u8]) -> io::Result<()> {
        let result = match self {
            Connection::Unix(socket) => socket.send(message).map(drop),
            Connection::Udp(socket) => socket.send(message).map(drop),
            Connection::Tcp(stream) => {
                tcp_peer_open(stream)?;
                // One write per frame, so that a frame is never left half
                // sent in a buffer.
                let mut frame = format!("{} ", message.len()).into_bytes();
                frame.extend_from_slice(message);
                stream.write_all(&frame)
            }
        };
        result.map_err(|error| match error.kind() {
            io::ErrorKind::WouldBlock => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the receiver took no data for {SEND_TIMEOUT:?}"),
            ),
            _ => error,
        })
    }
}

/// Checks that the receiver has not closed a TCP connection.
///
/// A write to a connection that the peer has closed still succeeds once,
/// and its data is lost without an error. A syslog receiver never sends
/// data, so a pending end of stream or error on the read side shows that
/// it is gone before the next record is written into the void.
fn tcp_peer_open(stream: &TcpStream) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    match recv(stream.as_raw_fd(), &mut byte, flags) {
        Ok(0) => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the receiver closed the connection",
        )),
        // Data from the receiver is not expected, but the connection is open.
        Ok(_) | Err(Errno::EAGAIN) => Ok(()),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn targets_parsed() {
        assert_eq!(
            "unix:/dev/log".parse(),
            Ok(Target::Unix(PathBuf::from("/dev/log")))
        );
        assert_eq!(
            "udp:127.0.0.1:514".parse(),
            Ok(Target::Udp(([127, 0, 0, 1], 514).into()))
        );
        assert_eq!(
            "tcp:[::1]:601".parse(),
            Ok(Target::Tcp("[::1]:601".parse().unwrap()))
        );
        assert!("tcp:localhost".parse::<Target>().is_err());
        assert!("http://x".parse::<Target>().is_err());
        assert!("unix:relative".parse::<Target>().is_err());
    }

    #[test]
    fn tcp_messages_octet_counted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = Target::Tcp(listener.local_addr().unwrap());
        let mut connection = Connection::open(&target).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        connection.send(b"<29>1 - - - - - - a b").unwrap();
        connection.send("é\n".as_bytes()).unwrap();
        drop(connection);
        let mut received = Vec::new();
        peer.read_to_end(&mut received).unwrap();
        assert_eq!(received, "21 <29>1 - - - - - - a b3 é\n".as_bytes());
    }

    #[test]
    fn tcp_send_fails_after_peer_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = Target::Tcp(listener.local_addr().unwrap());
        let mut connection = Connection::open(&target).unwrap();
        let (peer, _) = listener.accept().unwrap();
        connection.send(b"first").unwrap();
        drop(peer);
        // The peer's FIN arrives over loopback within this wait.
        std::thread::sleep(Duration::from_millis(50));
        let error = connection.send(b"second").unwrap_err();
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
            ),
            "unexpected error: {error}"
        );
    }
}
