//! A TLS-intercepting forward proxy, as a corporate proxy is: it lets the tests of mechanisms
//! whose API host is fixed (`https://api.hetzner.cloud`, `https://ec2.us-east-1.amazonaws.com`)
//! reach a plain-HTTP fixture on 127.0.0.1 the way a user behind a proxy reaches the real API:
//! the prometheus.yml names the real URL, `proxy_url` this proxy and `tls_config.ca_file` its
//! CA (or `HTTPS_PROXY` + `SSL_CERT_FILE` for mechanisms without HTTP settings).
//!
//! For each `CONNECT host:port` it answers 200, reads the TLS ClientHello, presents a
//! certificate for the name asked (SNI, else the CONNECT host) signed by the test CA kept in
//! `testdata/proxy-ca.pem`, and relays the decrypted bytes to the backend chosen for that host.
//! A plain `GET http://...` (absolute form) is relayed as it is. It records every CONNECT
//! host and SNI it saw, for the tests to assert.
//!
//! It runs on its own thread and runtime, so any test (tokio, actix or blocking) can use it;
//! dropping it stops it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The test CA's certificate, for `tls_config.ca_file` / `SSL_CERT_FILE`.
pub fn proxy_ca_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/testdata/proxy-ca.pem")
}

/// What the proxy saw of one tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// `host:port` of the CONNECT request, or the host of an absolute-form plain request.
    pub connect: String,
    /// The TLS server name the client sent (None for plain requests or a client without SNI).
    pub sni: Option<String>,
}

/// A running proxy; stopped when dropped.
pub struct TlsProxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// A proxy that relays every tunnel to `backend`.
    pub fn start(backend: SocketAddr) -> TlsProxy {
        Self::start_routes(HashMap::new(), Some(backend))
    }

    /// A proxy that relays tunnels to `host` (without port) to `routes[host]`, others to
    /// `fallback` (or refuses them).
    pub fn start_routes(
        routes: HashMap<String, SocketAddr>,
        fallback: Option<SocketAddr>,
    ) -> TlsProxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let seen2 = seen.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let state = Arc::new(State {
                    routes,
                    fallback,
                    seen: seen2,
                    ca: Ca::load(),
                });
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let state = state.clone();
                        tokio::spawn(async move {
                            let _ = handle(stream, state).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().unwrap();
        TlsProxy {
            addr,
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `proxy_url` or `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every tunnel and plain request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An HTTPS server on 127.0.0.1 presenting a certificate for `name` (signed by the test CA)
/// and relaying the decrypted bytes to `backend`: a server whose certificate names another
/// host than the URL, for `tls_config.server_name`.
pub struct TlsServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsServer {
    pub fn start(name: &str, backend: SocketAddr) -> TlsServer {
        let name = name.to_owned();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let config = Ca::load().server_config(&name);
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let Ok(mut tls) = acceptor.accept(stream).await else {
                                return;
                            };
                            let Ok(mut upstream) = TcpStream::connect(backend).await else {
                                return;
                            };
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        TlsServer {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct State {
    routes: HashMap<String, SocketAddr>,
    fallback: Option<SocketAddr>,
    seen: Arc<Mutex<Vec<Seen>>>,
    ca: Ca,
}

impl State {
    fn backend(&self, host_port: &str) -> Option<SocketAddr> {
        let host = host_port
            .rsplit_once(':')
            .map_or(host_port, |(h, _)| h)
            .trim_matches(|c| c == '[' || c == ']');
        self.routes.get(host).copied().or(self.fallback)
    }
}

/// The test CA, loaded from the test data; leaf certificates are made per name.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    cache: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
}

impl Ca {
    fn load() -> Ca {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/testdata");
        let key = std::fs::read_to_string(dir.join("proxy-ca.key")).unwrap();
        let key = rcgen::KeyPair::from_pem(&key).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "promsd test CA");
        Ca {
            issuer: rcgen::Issuer::new(params, key),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A server config presenting a certificate for `name`, signed by the CA.
    fn server_config(&self, name: &str) -> Arc<rustls::ServerConfig> {
        if let Some(c) = self.cache.lock().unwrap().get(name) {
            return c.clone();
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let der_key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], der_key)
        .unwrap();
        let mut config = config;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        self.cache
            .lock()
            .unwrap()
            .insert(name.to_owned(), config.clone());
        config
    }
}

/// Reads a request head (up to the empty line).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

async fn handle(mut client: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let head = read_head(&mut client).await?;
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut words = text.split_whitespace();
    let method = words.next().unwrap_or("").to_owned();
    let target = words.next().unwrap_or("").to_owned();
    if method != "CONNECT" {
        // Absolute-form plain HTTP: relay the request as it is.
        let host = url::Url::parse(&target)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_default();
        state.seen.lock().unwrap().push(Seen {
            connect: host.clone(),
            sni: None,
        });
        let Some(backend) = state.backend(&host) else {
            client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                .await?;
            return Ok(());
        };
        let mut upstream = TcpStream::connect(backend).await?;
        upstream.write_all(&head).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    let Some(backend) = state.backend(&target) else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    let acceptor =
        tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), client);
    let start = acceptor.await?;
    let sni = start.client_hello().server_name().map(str::to_owned);
    state.seen.lock().unwrap().push(Seen {
        connect: target.clone(),
        sni: sni.clone(),
    });
    let name = sni.unwrap_or_else(|| {
        target
            .rsplit_once(':')
            .map_or(target.as_str(), |(h, _)| h)
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned()
    });
    let mut tls = start.into_stream(state.ca.server_config(&name)).await?;
    let mut upstream = TcpStream::connect(backend).await?;
    tokio::io::copy_bidirectional(&mut tls, &mut upstream).await?;
    Ok(())
}
