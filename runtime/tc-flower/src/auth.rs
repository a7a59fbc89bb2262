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

    /// The key in a file's text: OpenSSH (`BEGIN OPENSSH PRIVATE KEY`, as `ssh-keygen -t
    /// ecdsa -b 384` writes it and `flower-supernode --auth-supernode-private-key`
    /// reads it, without a passphrase), PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC
    /// PRIVATE KEY`), on the P-384 curve.
    pub fn from_pem(text: &str) -> Result<Identity, Error> {
        if text.contains(OPENSSH_BEGIN) {
            return openssh_secret(text).map(|secret| Identity::from_key(SigningKey::from(secret)));
        }
        let secret = p384::SecretKey::from_pkcs8_pem(text).or_else(|_| p384::SecretKey::from_sec1_pem(text)).map_err(|_| {
            Error::Config(
                "the auth key is not a P-384 private key in OpenSSH format or PEM (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`)"
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

const OPENSSH_BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const OPENSSH_END: &str = "-----END OPENSSH PRIVATE KEY-----";

/// The P-384 secret of an unencrypted OpenSSH private key file (PROTOCOL.key of
/// OpenSSH): `openssh-key-v1\0`, cipher and KDF names (`none`), KDF options, one public
/// key, then the private section: two equal check words, the key type
/// `ecdsa-sha2-nistp384`, the curve `nistp384`, the public point, the private scalar
/// (an mpint), a comment and padding. The public point must be the scalar's.
fn openssh_secret(text: &str) -> Result<p384::SecretKey, Error> {
    let bad = |why: &str| Error::Config(format!("the auth key (OpenSSH format): {why}"));
    let body = text
        .split_once(OPENSSH_BEGIN)
        .and_then(|(_, rest)| rest.split_once(OPENSSH_END))
        .map(|(body, _)| body)
        .ok_or_else(|| bad("no `END OPENSSH PRIVATE KEY` line"))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| bad("the body is not base64"))?;
    let mut r = SshReader(&bytes);
    if r.take(15).ok_or_else(|| bad("truncated"))? != b"openssh-key-v1\0" {
        return Err(bad("not an `openssh-key-v1` key"));
    }
    let truncated = || bad("truncated");
    let cipher = r.string().ok_or_else(truncated)?;
    let kdf = r.string().ok_or_else(truncated)?;
    r.string().ok_or_else(truncated)?;
    if cipher != b"none" || kdf != b"none" {
        return Err(bad(
            "the key is encrypted; remove its passphrase with `ssh-keygen -p -N '' -f KEY`",
        ));
    }
    if r.u32().ok_or_else(truncated)? != 1 {
        return Err(bad("the file must hold exactly one key"));
    }
    r.string().ok_or_else(truncated)?;
    let mut private = SshReader(r.string().ok_or_else(truncated)?);
    let (check1, check2) = (
        private.u32().ok_or_else(truncated)?,
        private.u32().ok_or_else(truncated)?,
    );
    if check1 != check2 {
        return Err(bad("its check words differ (corrupt or encrypted)"));
    }
    let kind = private.string().ok_or_else(truncated)?;
    if kind != b"ecdsa-sha2-nistp384" {
        return Err(bad(&format!(
            "a `{}` key; Flower nodes need ECDSA on P-384 (`ssh-keygen -t ecdsa -b 384`)",
            String::from_utf8_lossy(kind)
                .chars()
                .take(40)
                .collect::<String>()
        )));
    }
    if private.string().ok_or_else(truncated)? != b"nistp384" {
        return Err(bad("the curve is not nistp384"));
    }
    let point = private.string().ok_or_else(truncated)?;
    let scalar = private.string().ok_or_else(truncated)?;
    // An mpint: big-endian, a leading zero byte when the top bit is set.
    let digits = &scalar[scalar.iter().take_while(|b| **b == 0).count()..];
    if digits.is_empty() || digits.len() > 48 {
        return Err(bad("the private scalar is not a P-384 scalar"));
    }
    let mut field = [0u8; 48];
    field[48 - digits.len()..].copy_from_slice(digits);
    let secret = p384::SecretKey::from_bytes(&field.into())
        .map_err(|_| bad("the private scalar is not a P-384 scalar"))?;
    let public = p384::PublicKey::from_sec1_bytes(point)
        .map_err(|_| bad("the public point is not on P-384"))?;
    if public != secret.public_key() {
        return Err(bad("the public key is not the private key's"));
    }
    Ok(secret)
}

/// Reads OpenSSH's wire encoding: big-endian `u32`s and length-prefixed strings.
struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
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

    /// A key `ssh-keygen -t ecdsa -b 384 -N ''` wrote, and the same key after `ssh-keygen
    /// -p -m PEM` (SEC1).
    const SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAiAAAABNlY2RzYS
1zaGEyLW5pc3RwMzg0AAAACG5pc3RwMzg0AAAAYQSZNHHmF5Bl/7SulDS8Ew69muOaNTv8
tUiwNwrZ0PLwTNsd3O7UaQJtbYis3Mt1tjULsR6K1e/maC7GtPsXCu8nv+juIOzaR6bcFO
VYqb3dkG87XOgUPXM2m/6XBvytcsAAAADYh0SjLodEoy4AAAATZWNkc2Etc2hhMi1uaXN0
cDM4NAAAAAhuaXN0cDM4NAAAAGEEmTRx5heQZf+0rpQ0vBMOvZrjmjU7/LVIsDcK2dDy8E
zbHdzu1GkCbW2IrNzLdbY1C7EeitXv5mguxrT7FwrvJ7/o7iDs2kem3BTlWKm93ZBvO1zo
FD1zNpv+lwb8rXLAAAAAMEUaimchQqQtpwEyAA8tWZvACqSB2b9IoADSfO/pwt9THmeBlL
6A5nQIZsupjPaoDwAAAAx0ZW5zb3JjIHRlc3QBAgME
-----END OPENSSH PRIVATE KEY-----
";
    const SSH_KEY_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDBFGopnIUKkLacBMgAPLVmbwAqkgdm/SKAA0nzv6cLfUx5ngZS+gOZ0
CGbLqYz2qA+gBwYFK4EEACKhZANiAASZNHHmF5Bl/7SulDS8Ew69muOaNTv8tUiw
NwrZ0PLwTNsd3O7UaQJtbYis3Mt1tjULsR6K1e/maC7GtPsXCu8nv+juIOzaR6bc
FOVYqb3dkG87XOgUPXM2m/6XBvytcsA=
-----END EC PRIVATE KEY-----
";

    #[test]
    fn keys_load_from_openssh_format() {
        let ssh = Identity::from_pem(SSH_KEY).unwrap();
        assert_eq!(
            ssh.public_pem,
            Identity::from_pem(SSH_KEY_SEC1).unwrap().public_pem
        );
        // An ed25519 key (`ssh-keygen -t ed25519`): the wrong kind, said so.
        let ed = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCV94nUx3n0d/43fU5yzUpR1vrbc6u6ggJbJw5ighW4IwAAAJAQA4xOEAOM
TgAAAAtzc2gtZWQyNTUxOQAAACCV94nUx3n0d/43fU5yzUpR1vrbc6u6ggJbJw5ighW4Iw
AAAEAlScuL8AeoVT37xL+wNqeO5t3AKj6SI1lnIPxk8fdwt5X3idTHefR3/jd9TnLNSlHW
+ttzq7qCAlsnDmKCFbgjAAAAB3Jvb3RAdm0BAgMEBQY=
-----END OPENSSH PRIVATE KEY-----
";
        let Err(Error::Config(m)) = Identity::from_pem(ed) else {
            panic!("an ed25519 key loaded")
        };
        assert!(m.contains("ssh-ed25519"), "{m}");
        // Every truncation, and every single-byte change of the body, is an error or
        // (where it only touches the comment or padding) the same key: never a panic.
        let b64: String = SSH_KEY
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let wrap = |b: &[u8]| {
            format!(
                "{OPENSSH_BEGIN}\n{}\n{OPENSSH_END}\n",
                base64::engine::general_purpose::STANDARD.encode(b)
            )
        };
        for n in 0..bytes.len() {
            assert!(
                Identity::from_pem(&wrap(&bytes[..n])).is_err(),
                "truncated at {n}"
            );
            let mut changed = bytes.clone();
            changed[n] ^= 0x5a;
            if let Ok(id) = Identity::from_pem(&wrap(&changed)) {
                assert_eq!(id.public_pem, ssh.public_pem, "byte {n}");
            }
        }
    }
}
