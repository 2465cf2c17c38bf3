//! The Jupyter wire format: ZeroMQ multipart frames and their HMAC.
//!
//! A message on the wire is `[identities…, "<IDS|MSG>", signature, header,
//! parent_header, metadata, content, buffers…]`; the signature is the hex
//! HMAC-SHA256 of the four JSON frames under the connection key. This
//! module only frames, signs and verifies; it never decides what a message
//! means (see `server`). Content stays a `serde_json::Value`: a request
//! with an unexpected or missing optional field is still answered, rather
//! than dropped by a strict typed parse.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const DELIMITER: &[u8] = b"<IDS|MSG>";

/// Why a multipart message was refused. Each is logged and the message
/// dropped; none ends a socket loop.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("no <IDS|MSG> delimiter in {frames} frames")]
    MissingDelimiter { frames: usize },
    #[error("expected 4 JSON frames after the signature, got {0}")]
    TooFewFrames(usize),
    #[error("bad signature")]
    BadSignature,
    #[error("frame {frame} is not valid JSON: {source}")]
    Json {
        frame: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("header has no msg_type")]
    NoMsgType,
}

/// A decoded message. `header` and `parent_header` are kept as JSON objects
/// so they round-trip exactly into replies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub identities: Vec<Bytes>,
    pub header: Value,
    pub parent_header: Value,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Bytes>,
}

impl Message {
    /// `header.msg_type`.
    pub(crate) fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or("")
    }
}

/// Signs with HMAC-SHA256, or not at all when the key is empty (allowed by
/// the spec for trusted set-ups).
#[derive(Clone)]
pub(crate) struct Signer {
    key: Option<Hmac<Sha256>>,
}

impl Signer {
    pub(crate) fn new(key: &str) -> Self {
        let key = (!key.is_empty())
            .then(|| Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length"));
        Signer { key }
    }

    fn mac(&self, parts: &[&[u8]]) -> Option<Hmac<Sha256>> {
        let mut mac = self.key.clone()?;
        for p in parts {
            mac.update(p);
        }
        Some(mac)
    }

    /// Hex signature of the four JSON frames ("" without a key).
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> String {
        self.mac(parts).map(|m| hex::encode(m.finalize().into_bytes())).unwrap_or_default()
    }

    /// Constant-time check of a received signature.
    pub(crate) fn verify(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        match self.mac(parts) {
            None => true,
            Some(mac) => match hex::decode(signature) {
                Ok(sig) => mac.verify_slice(&sig).is_ok(),
                Err(_) => false,
            },
        }
    }
}

/// Splits, verifies and parses a multipart message.
pub(crate) fn decode(frames: Vec<Bytes>, signer: &Signer) -> Result<Message, WireError> {
    let delim = frames
        .iter()
        .position(|f| f.as_ref() == DELIMITER)
        .ok_or(WireError::MissingDelimiter { frames: frames.len() })?;
    let rest = &frames[delim + 1..];
    if rest.len() < 5 {
        return Err(WireError::TooFewFrames(rest.len().saturating_sub(1)));
    }
    let json: [&[u8]; 4] = [&rest[1], &rest[2], &rest[3], &rest[4]];
    if !signer.verify(&json, &rest[0]) {
        return Err(WireError::BadSignature);
    }
    let parse = |frame: &'static str, bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes).map_err(|source| WireError::Json { frame, source })
    };
    let header = parse("header", json[0])?;
    if header["msg_type"].as_str().is_none() {
        return Err(WireError::NoMsgType);
    }
    Ok(Message {
        identities: frames[..delim].to_vec(),
        header,
        parent_header: parse("parent_header", json[1])?,
        metadata: parse("metadata", json[2])?,
        content: parse("content", json[3])?,
        buffers: rest[5..].to_vec(),
    })
}

/// Serializes and signs a message into frames.
pub(crate) fn encode(msg: &Message, signer: &Signer) -> Vec<Bytes> {
    let parts: [Vec<u8>; 4] = [
        serde_json::to_vec(&msg.header).expect("json"),
        serde_json::to_vec(&msg.parent_header).expect("json"),
        serde_json::to_vec(&msg.metadata).expect("json"),
        serde_json::to_vec(&msg.content).expect("json"),
    ];
    let refs: [&[u8]; 4] = [&parts[0], &parts[1], &parts[2], &parts[3]];
    let sig = signer.sign(&refs);
    let mut frames = msg.identities.clone();
    frames.push(Bytes::from_static(DELIMITER));
    frames.push(Bytes::from(sig));
    frames.extend(parts.into_iter().map(Bytes::from));
    frames.extend(msg.buffers.iter().cloned());
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Message {
        Message {
            identities: vec![Bytes::from_static(b"client-1")],
            header: json!({"msg_id": "1", "msg_type": "kernel_info_request", "session": "s", "username": "u", "date": "2026-01-01T00:00:00Z", "version": "5.3"}),
            parent_header: json!({}),
            metadata: json!({}),
            content: json!({}),
            buffers: vec![],
        }
    }

    #[test]
    fn round_trip_with_key() {
        let s = Signer::new("secret");
        let frames = encode(&sample(), &s);
        assert_eq!(decode(frames, &s).unwrap(), sample());
    }

    #[test]
    fn signature_matches_python_hmac() {
        // hmac.new(b"key", b"abcd", hashlib.sha256).hexdigest()
        let s = Signer::new("key");
        assert_eq!(
            s.sign(&[b"a", b"b", b"c", b"d"]),
            "2a31ec0ee8d878c9eece9fb0df79b3b90b2256240163aa5ee50d176d3d1121f8"
        );
    }

    #[test]
    fn bad_or_missing_signature_is_refused() {
        let s = Signer::new("secret");
        let mut frames = encode(&sample(), &s);
        frames[2] = Bytes::from_static(b"00ff");
        assert!(matches!(decode(frames.clone(), &s), Err(WireError::BadSignature)));
        frames[2] = Bytes::from_static(b"");
        assert!(matches!(decode(frames, &s), Err(WireError::BadSignature)));
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let s = Signer::new("");
        assert!(matches!(decode(vec![Bytes::from_static(b"x")], &s), Err(WireError::MissingDelimiter { .. })));
        let short = vec![Bytes::from_static(DELIMITER), Bytes::new(), Bytes::from_static(b"{}")];
        assert!(matches!(decode(short, &s), Err(WireError::TooFewFrames(_))));
        let mut frames = encode(&sample(), &s);
        frames[3] = Bytes::from_static(b"{not json");
        assert!(matches!(decode(frames, &s), Err(WireError::Json { frame: "header", .. })));
    }

    #[test]
    fn empty_key_means_unsigned() {
        let s = Signer::new("");
        let frames = encode(&sample(), &s);
        assert_eq!(frames[2].as_ref(), b"");
        assert!(decode(frames, &s).is_ok());
    }
}
