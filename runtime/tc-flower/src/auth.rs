//! The node's identity: a P-384 key whose public half (PEM, SubjectPublicKeyInfo) names
//! the node to the SuperLink, and the signature of every request.
//!
//! Every Fleet API call carries `flwr-public-key` (base64 of the PEM), `flwr-timestamp`
//! (now, UTC, ISO 8601 with `+00:00`, as Python's `datetime.isoformat` writes it) and
//! `flwr-signature` (base64 of the DER ECDSA signature of the timestamp's text). Flower
//! signs with `ECDSA(SHA256)` on P-384, so the signature is over the SHA-256 prehash,
//! not the curve's default SHA-384.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use p384::ecdsa::signature::hazmat::PrehashSigner;
use p384::ecdsa::{Signature, SigningKey};
use p384::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

use crate::Error;

/// A node's key pair and the headers it signs requests with.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    /// The public key's PEM: what `register-node` and `activate-node` send.
    pub public_pem: Vec<u8>,
    public_b64: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("public_pem", &String::from_utf8_lossy(&self.public_pem))
            .finish()
    }
}

impl Identity {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Identity {
        Identity::from_key(SigningKey::random(&mut rand_core::OsRng))
    }

    /// The key in a PEM file's text: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC
    /// PRIVATE KEY`), on the P-384 curve.
    pub fn from_pem(text: &str) -> Result<Identity, Error> {
        let secret = p384::SecretKey::from_pkcs8_pem(text).or_else(|_| p384::SecretKey::from_sec1_pem(text)).map_err(|_| {
            Error::Config(
                "the auth key is not a P-384 private key in PEM (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`)"
                    .to_string(),
            )
        })?;
        Ok(Identity::from_key(SigningKey::from(secret)))
    }

    fn from_key(key: SigningKey) -> Identity {
        let public = p384::PublicKey::from(key.verifying_key());
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .expect("a P-384 public key encodes")
            .into_bytes();
        let public_b64 = base64::engine::general_purpose::STANDARD.encode(&public_pem);
        Identity {
            key,
            public_pem,
            public_b64,
        }
    }

    /// The three authentication headers for a request made now.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        self.headers_at(SystemTime::now())
    }

    /// The headers for a request made at `time`.
    pub fn headers_at(&self, time: SystemTime) -> [(&'static str, String); 3] {
        let timestamp = iso8601(time);
        let signature = self.sign(timestamp.as_bytes());
        [
            ("flwr-public-key", self.public_b64.clone()),
            ("flwr-timestamp", timestamp),
            (
                "flwr-signature",
                base64::engine::general_purpose::STANDARD.encode(signature),
            ),
        ]
    }

    /// The DER ECDSA signature of `message`'s SHA-256 digest.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let digest = Sha256::digest(message);
        let signature: Signature = self
            .key
            .sign_prehash(&digest)
            .expect("a 32-byte prehash signs on P-384");
        signature.to_der().as_bytes().to_vec()
    }
}

/// `2026-01-02T03:04:05.678901+00:00`: UTC as Python's `datetime.isoformat()` writes
/// it (microseconds left out when zero, as Python does).
pub fn iso8601(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let micros = since.subsec_micros();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if micros == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{micros:06}+00:00")
    }
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    use std::time::Duration;

    #[test]
    fn timestamps_are_python_isoformat() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00+00:00");
        let t = UNIX_EPOCH + Duration::from_micros(1_767_323_045_678_901);
        assert_eq!(iso8601(t), "2026-01-02T03:04:05.678901+00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00+00:00");
    }

    #[test]
    fn signatures_verify_over_the_sha256_prehash() {
        let id = Identity::generate();
        let headers = id.headers();
        let ts = &headers[1].1;
        let der = base64::engine::general_purpose::STANDARD
            .decode(&headers[2].1)
            .unwrap();
        let sig = Signature::from_der(&der).unwrap();
        let digest = Sha256::digest(ts.as_bytes());
        id.key
            .verifying_key()
            .verify_prehash(&digest, &sig)
            .unwrap();
        let pem = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&headers[0].1)
                .unwrap(),
        )
        .unwrap();
        assert!(
            pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
                && pem.ends_with("-----END PUBLIC KEY-----\n")
        );
    }

    #[test]
    fn keys_load_from_pem_and_bad_keys_are_errors() {
        let id = Identity::generate();
        let pem = id.key.to_bytes();
        let secret = p384::SecretKey::from_bytes(&pem).unwrap();
        let text = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert_eq!(Identity::from_pem(&text).unwrap().public_pem, id.public_pem);
        assert!(matches!(
            Identity::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(Error::Config(_))
        ));
        assert!(matches!(Identity::from_pem(""), Err(Error::Config(_))));
    }
}
