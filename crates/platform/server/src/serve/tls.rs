//! HTTPS from run.yaml's `server.tls_certfile`/`tls_keyfile`, and mutual TLS when `tls_cafile`
//! names the CA that client certificates must chain to (rustls, ring provider).

use std::sync::Arc;

use lls_api_common::{Error, Result};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

/// The PEM files of an HTTPS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub certfile: String,
    pub keyfile: String,
    /// Client certificates are required and must chain to a CA in this file.
    pub cafile: Option<String>,
}

/// Reads the files and builds the acceptor; any problem names the run.yaml key and the file.
pub(super) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(&files.certfile, "server.tls_certfile")?;
    let key = PrivateKeyDer::from_pem_file(&files.keyfile)
        .map_err(|e| Error::invalid(format!("server.tls_keyfile: cannot read a private key from {}: {e}", files.keyfile)))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS: {e}")))?;
    let builder = match &files.cafile {
        Some(cafile) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(cafile, "server.tls_cafile")? {
                roots
                    .add(cert)
                    .map_err(|e| Error::invalid(format!("server.tls_cafile: {cafile} holds an unusable CA certificate: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::invalid(format!("server.tls_cafile: {cafile}: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        Error::invalid(format!(
            "server.tls_certfile/tls_keyfile: {} and {} do not make a usable pair: {e}",
            files.certfile, files.keyfile
        ))
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &str, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::invalid(format!("{key}: cannot read certificates from {path}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!("{key}: {path} holds no PEM certificate")));
    }
    Ok(certs)
}
