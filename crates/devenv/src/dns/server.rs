//! The DNS server: UDP and TCP on one address, answering from the current [`Zone`]. The wire
//! format is `hickory-proto`'s; [`respond`] (request bytes → response bytes) is pure, the socket
//! loops around it are thin. Every query is answered from memory at once — there is nothing to
//! forward to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, PTR, SOA, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record as WireRecord, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;

use super::DnsError;
use super::zone::{CLUSTER_DOMAIN, Lookup, Record, RecordKind, Zone, zone_of};

/// The TTL of every answer (and of negative answers, via the SOA minimum).
pub const TTL: u32 = 5;
/// How long an idle TCP connection is kept.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// The UDP payload size the server offers with EDNS.
const EDNS_PAYLOAD: u16 = 1232;

/// A bound server: the UDP socket and TCP listener on the same address.
#[derive(Debug)]
pub struct DnsServer {
    udp: UdpSocket,
    tcp: TcpListener,
    zone: watch::Receiver<Arc<Zone>>,
}

impl DnsServer {
    /// Binds UDP and TCP on `addr` (port 0: a free port, the same for both). Answers come from
    /// whatever `zone` holds at the time of each query.
    ///
    /// # Errors
    /// [`DnsError::Bind`] if either socket cannot be bound.
    pub async fn bind(
        addr: SocketAddr,
        zone: watch::Receiver<Arc<Zone>>,
    ) -> Result<Self, DnsError> {
        let bind_err = |source| DnsError::Bind { addr, source };
        let udp = UdpSocket::bind(addr).await.map_err(bind_err)?;
        let actual = udp.local_addr().map_err(bind_err)?;
        let tcp = TcpListener::bind(actual)
            .await
            .map_err(|source| DnsError::Bind {
                addr: actual,
                source,
            })?;
        Ok(Self { udp, tcp, zone })
    }

    /// The bound address (UDP and TCP).
    ///
    /// # Errors
    /// [`DnsError::Bind`] if the socket has no address (cannot happen once bound).
    pub fn local_addr(&self) -> Result<SocketAddr, DnsError> {
        self.udp.local_addr().map_err(|source| DnsError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let DnsServer { udp, tcp, zone } = self;
        let udp_zone = zone.clone();
        tokio::select! {
            () = serve_udp(udp, udp_zone) => {}
            () = serve_tcp(tcp, zone) => {}
            () = shutdown => {}
        }
    }
}

async fn serve_udp(socket: UdpSocket, zone: watch::Receiver<Arc<Zone>>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            // ICMP errors of earlier sends surface here on Linux; keep serving.
            Err(_) => continue,
        };
        let current = zone.borrow().clone();
        if let Some(reply) = respond(&current, &buf[..len], Transport::Udp) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

async fn serve_tcp(listener: TcpListener, zone: watch::Receiver<Arc<Zone>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let zone = zone.clone();
        tokio::spawn(async move {
            let _ = serve_tcp_conn(stream, zone).await;
        });
    }
}

async fn serve_tcp_conn(
    mut stream: TcpStream,
    zone: watch::Receiver<Arc<Zone>>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    loop {
        let len = match tokio::time::timeout(TCP_IDLE, stream.read_u16()).await {
            Ok(Ok(len)) => usize::from(len),
            _ => return Ok(()),
        };
        let mut msg = vec![0u8; len];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut msg))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        let current = zone.borrow().clone();
        let Some(reply) = respond(&current, &msg, Transport::Tcp) else {
            return Ok(());
        };
        let Ok(rlen) = u16::try_from(reply.len()) else {
            return Ok(());
        };
        let mut out = Vec::with_capacity(reply.len() + 2);
        out.extend_from_slice(&rlen.to_be_bytes());
        out.extend_from_slice(&reply);
        stream.write_all(&out).await?;
    }
}

/// How a query arrived: UDP replies are limited in size (512 bytes, or what EDNS offers) and
/// truncated (TC) beyond it, so the client retries over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP (no size limit but the 64 KiB frame).
    Tcp,
}

/// The response to one request message, or `None` when nothing should be sent (not a query, or
/// too short to carry an ID). Pure.
pub fn respond(zone: &Zone, request: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let req = match Message::from_vec(request) {
        Ok(m) => m,
        Err(_) => {
            let id = u16::from_be_bytes([*request.first()?, *request.get(1)?]);
            return Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
                .to_vec()
                .ok();
        }
    };
    if req.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.queries.clone_from(&req.queries);
    if req.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        resp.edns = Some(edns);
    }
    if req.metadata.op_code != OpCode::Query {
        resp.metadata.response_code = ResponseCode::NotImp;
    } else if req.queries.len() != 1 {
        resp.metadata.response_code = ResponseCode::FormErr;
    } else {
        answer(zone, &req.queries[0], &mut resp);
    }
    let bytes = resp.to_vec().ok()?;
    let limit = match (transport, &req.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => usize::from(e.max_payload().clamp(512, EDNS_PAYLOAD)),
    };
    if bytes.len() <= limit {
        return Some(bytes);
    }
    let mut truncated = resp.truncate();
    truncated.metadata.message_type = MessageType::Response;
    truncated.to_vec().ok()
}

fn answer(zone: &Zone, q: &Query, resp: &mut Message) {
    let qname = q.name().to_ascii();
    if q.query_class() != DNSClass::IN && q.query_class() != DNSClass::ANY {
        resp.metadata.response_code = ResponseCode::Refused;
        return;
    }
    let kind = match q.query_type() {
        RecordType::A => Some(Some(RecordKind::A)),
        RecordType::AAAA => Some(Some(RecordKind::Aaaa)),
        RecordType::SRV => Some(Some(RecordKind::Srv)),
        RecordType::CNAME => Some(Some(RecordKind::Cname)),
        RecordType::PTR => Some(Some(RecordKind::Ptr)),
        RecordType::ANY => Some(None),
        _ => None,
    };
    let lookup = match kind {
        Some(k) => zone.lookup(&qname, k),
        // A type the table never holds (SOA, NS, MX, TXT, …): only whether the name exists.
        None => match zone.lookup(&qname, None) {
            Lookup::Answer(_) => Lookup::NoData {
                zone: zone_of(&qname.trim_end_matches('.').to_ascii_lowercase())
                    .unwrap_or(CLUSTER_DOMAIN),
            },
            other => other,
        },
    };
    match lookup {
        Lookup::Answer(records) => {
            resp.metadata.authoritative = true;
            for r in records {
                if let Some(rdata) = rdata(r) {
                    resp.answers
                        .push(WireRecord::from_rdata(q.name().clone(), TTL, rdata));
                }
            }
        }
        Lookup::NoData { zone: apex } => {
            resp.metadata.authoritative = true;
            if q.query_type() == RecordType::SOA && is_apex(&qname, apex) {
                if let Some(soa) = soa(apex) {
                    resp.answers.push(soa);
                }
            } else if let Some(soa) = soa(apex) {
                resp.authorities.push(soa);
            }
        }
        Lookup::NxDomain { zone: apex } => {
            resp.metadata.authoritative = true;
            resp.metadata.response_code = ResponseCode::NXDomain;
            if let Some(soa) = soa(apex) {
                resp.authorities.push(soa);
            }
        }
        Lookup::Refused => resp.metadata.response_code = ResponseCode::Refused,
    }
}

fn is_apex(qname: &str, apex: &str) -> bool {
    qname.trim_end_matches('.').eq_ignore_ascii_case(apex)
}

fn name(s: &str) -> Option<Name> {
    let mut n = Name::from_ascii(s).ok()?;
    n.set_fqdn(true);
    Some(n)
}

fn rdata(r: &Record) -> Option<RData> {
    Some(match r {
        Record::A(ip) => RData::A(A(*ip)),
        Record::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        Record::Srv {
            priority,
            weight,
            port,
            target,
        } => RData::SRV(SRV::new(*priority, *weight, *port, name(target)?)),
        Record::Cname(t) => RData::CNAME(CNAME(name(t)?)),
        Record::Ptr(t) => RData::PTR(PTR(name(t)?)),
    })
}

/// The zone's SOA record; its minimum (the negative-caching TTL) is [`TTL`].
fn soa(apex: &str) -> Option<WireRecord> {
    let data = SOA::new(
        name(&format!("ns.dns.{apex}"))?,
        name(&format!("hostmaster.{apex}"))?,
        1,
        60,
        60,
        3600,
        TTL,
    );
    Some(WireRecord::from_rdata(name(apex)?, TTL, RData::SOA(data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn zone() -> Zone {
        Zone::from_records([
            (
                "web.default.svc.cluster.local".into(),
                Record::A(Ipv4Addr::new(10, 96, 0, 20)),
            ),
            (
                "_http._tcp.web.default.svc.cluster.local".into(),
                Record::Srv {
                    priority: 0,
                    weight: 100,
                    port: 80,
                    target: "web.default.svc.cluster.local".into(),
                },
            ),
        ])
    }

    fn query(name: &str, t: RecordType, edns: bool) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 4242;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(1232);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    fn ask(name: &str, t: RecordType) -> Message {
        Message::from_vec(&respond(&zone(), &query(name, t, false), Transport::Udp).unwrap())
            .unwrap()
    }

    #[test]
    fn answers() {
        let m = ask("Web.default.svc.cluster.local.", RecordType::A);
        assert_eq!(m.metadata.id, 4242);
        assert_eq!(m.metadata.message_type, MessageType::Response);
        assert!(m.metadata.authoritative);
        assert!(m.metadata.recursion_desired);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert_eq!(m.answers.len(), 1);
        // The owner name is echoed as asked (0x20 case randomisation survives).
        assert_eq!(
            m.answers[0].name.to_ascii(),
            "Web.default.svc.cluster.local."
        );
        assert_eq!(m.answers[0].ttl, TTL);
        assert_eq!(m.answers[0].data, RData::A(A(Ipv4Addr::new(10, 96, 0, 20))));

        let m = ask("_http._tcp.web.default.svc.cluster.local.", RecordType::SRV);
        let RData::SRV(srv) = &m.answers[0].data else {
            panic!("{m:?}")
        };
        assert_eq!(srv.port, 80);
        assert_eq!(srv.target.to_ascii(), "web.default.svc.cluster.local.");
    }

    #[test]
    fn negative_answers() {
        let cases = [
            (
                "web.default.svc.cluster.local.",
                RecordType::AAAA,
                ResponseCode::NoError,
                0,
                1,
            ),
            (
                "web.default.svc.cluster.local.",
                RecordType::MX,
                ResponseCode::NoError,
                0,
                1,
            ),
            (
                "nope.default.svc.cluster.local.",
                RecordType::A,
                ResponseCode::NXDomain,
                0,
                1,
            ),
            (
                "nope.default.svc.cluster.local.",
                RecordType::MX,
                ResponseCode::NXDomain,
                0,
                1,
            ),
            (
                "cluster.local.",
                RecordType::SOA,
                ResponseCode::NoError,
                1,
                0,
            ),
            ("example.com.", RecordType::A, ResponseCode::Refused, 0, 0),
        ];
        for (name, t, code, answers, authorities) in cases {
            let m = ask(name, t);
            assert_eq!(m.metadata.response_code, code, "{name} {t}");
            assert_eq!(m.answers.len(), answers, "{name} {t}");
            assert_eq!(m.authorities.len(), authorities, "{name} {t}");
            if authorities == 1 {
                let RData::SOA(soa) = &m.authorities[0].data else {
                    panic!("{m:?}")
                };
                assert_eq!(soa.minimum, TTL);
            }
        }
    }

    #[test]
    fn malformed_and_unsupported() {
        assert_eq!(respond(&zone(), &[], Transport::Udp), None);
        let m = Message::from_vec(&respond(&zone(), &[0x12, 0x34, 0xff], Transport::Udp).unwrap())
            .unwrap();
        assert_eq!(m.metadata.id, 0x1234);
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);

        let mut notify = Message::query();
        notify.metadata.op_code = OpCode::Notify;
        let m = Message::from_vec(
            &respond(&zone(), &notify.to_vec().unwrap(), Transport::Udp).unwrap(),
        )
        .unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::NotImp);

        // A response is never answered.
        let resp = Message::response(1, OpCode::Query).to_vec().unwrap();
        assert_eq!(respond(&zone(), &resp, Transport::Udp), None);
    }

    /// The bound server on a free loopback port, asked over real UDP and TCP sockets; a table
    /// swapped in through the channel is answered from at once.
    #[tokio::test]
    async fn serves_udp_and_tcp_from_the_current_table() {
        let (tx, rx) = watch::channel(Arc::new(zone()));
        let server = DnsServer::bind("127.0.0.1:0".parse().unwrap(), rx)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stop_rx.await;
        }));

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp.connect(addr).await.unwrap();
        let ask_udp = |name: &'static str| {
            let udp = &udp;
            async move {
                udp.send(&query(name, RecordType::A, false)).await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = tokio::time::timeout(Duration::from_secs(2), udp.recv(&mut buf))
                    .await
                    .unwrap()
                    .unwrap();
                Message::from_vec(&buf[..n]).unwrap()
            }
        };
        let m = ask_udp("web.default.svc.cluster.local.").await;
        assert_eq!(m.answers.len(), 1);

        let mut tcp = TcpStream::connect(addr).await.unwrap();
        for _ in 0..2 {
            // Two queries on one connection.
            let q = query(
                "_http._tcp.web.default.svc.cluster.local.",
                RecordType::SRV,
                false,
            );
            let len = u16::try_from(q.len()).unwrap();
            tcp.write_all(&len.to_be_bytes()).await.unwrap();
            tcp.write_all(&q).await.unwrap();
            let n = usize::from(tcp.read_u16().await.unwrap());
            let mut buf = vec![0u8; n];
            tcp.read_exact(&mut buf).await.unwrap();
            let m = Message::from_vec(&buf).unwrap();
            assert_eq!(m.metadata.response_code, ResponseCode::NoError);
            assert_eq!(m.answers.len(), 1);
        }

        tx.send_replace(Arc::new(Zone::default()));
        let m = ask_udp("web.default.svc.cluster.local.").await;
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);

        let _ = stop_tx.send(());
        task.await.unwrap();
    }

    #[test]
    fn large_answers_are_truncated_over_udp_only() {
        let records = (0..60u8).map(|i| {
            (
                "many.default.svc.cluster.local".to_owned(),
                Record::A(Ipv4Addr::new(10, 244, 1, i)),
            )
        });
        let z = Zone::from_records(records);
        let q = query("many.default.svc.cluster.local.", RecordType::A, false);
        let udp = Message::from_vec(&respond(&z, &q, Transport::Udp).unwrap()).unwrap();
        assert!(udp.metadata.truncation);
        assert!(udp.answers.is_empty());
        let tcp = Message::from_vec(&respond(&z, &q, Transport::Tcp).unwrap()).unwrap();
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 60);
        // With EDNS the client offers a larger buffer: 60 A records fit in 1232 bytes.
        let q = query("many.default.svc.cluster.local.", RecordType::A, true);
        let edns = Message::from_vec(&respond(&z, &q, Transport::Udp).unwrap()).unwrap();
        assert!(!edns.metadata.truncation);
        assert_eq!(edns.answers.len(), 60);
        assert!(edns.edns.is_some());
    }
}
