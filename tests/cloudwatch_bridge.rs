//! CloudWatch's wire protocols, bridged for the emulator.
//!
//! The AWS SDK for Rust speaks only Smithy RPC v2 CBOR to CloudWatch
//! (`POST /service/GraniteServiceVersion20100801/operation/<Op>`), while moto
//! understands CloudWatch's Query and JSON 1.0 protocols, not CBOR
//! (getmoto/moto#9195). This bridge is a tiny HTTP server on 127.0.0.1 that
//! turns each CBOR request into the same operation in JSON 1.0
//! (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), forwards it to moto
//! and turns the JSON answer back into CBOR. Tests and function binaries point
//! only CloudWatch at it (`AWS_ENDPOINT_URL_CLOUDWATCH`); every other service
//! talks to moto directly.
//!
//! The two protocols carry the same shapes with two differences the bridge
//! handles: CBOR marks timestamps with tag 1 where JSON has bare epoch
//! seconds (in CloudWatch's answers, the members named `…Timestamp` and the
//! `Timestamps` lists), and CBOR keeps integers and doubles apart, which JSON
//! numbers written as `1` and `1.0` preserve.

use serde_json::{Map, Number, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::emulator::http_with;

/// The CloudWatch service's protocol name in both protocols.
const SERVICE: &str = "GraniteServiceVersion20100801";

/// A running bridge; stops when dropped.
pub struct CloudWatchBridge {
    /// `http://127.0.0.1:<port>`: CloudWatch's endpoint for clients.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl CloudWatchBridge {
    /// Serve on a free loopback port, forwarding to moto at `moto_address` (`host:port`).
    pub async fn start(moto_address: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the CloudWatch bridge");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let moto = moto_address.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let moto = moto.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &moto).await;
                });
            }
        });
        Self { url, task }
    }
}

impl Drop for CloudWatchBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request per connection (we answer `Connection: close`).
async fn serve(mut stream: TcpStream, moto: &str) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let head_end = loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buffer[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let operation = path
        .strip_prefix(&format!("/service/{SERVICE}/operation/"))
        .unwrap_or_default()
        .to_owned();
    let body = &data[head_end..(head_end + length).min(data.len())];
    let input = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        decode(body, &mut 0).unwrap_or_else(|e| panic!("CBOR request to {operation}: {e}"))
    };
    let target = format!("{SERVICE}.{operation}");
    let authorization = header("authorization").unwrap_or_default();
    let (status, answer) = http_with(
        moto,
        "POST",
        "/",
        &[
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.0"),
            // moto routes on the service named in the credential scope.
            ("Authorization", authorization.as_str()),
        ],
        Some(&input.to_string()),
    )
    .await?;
    let output: Value = serde_json::from_str(&answer).unwrap_or(Value::Object(Map::new()));
    let mut cbor = Vec::new();
    encode(&output, false, &mut cbor);
    let mut response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        cbor.len()
    )
    .into_bytes();
    response.extend_from_slice(&cbor);
    stream.write_all(&response).await
}

/// The argument of a CBOR head: the length, count or value; `None` for indefinite length.
fn argument(data: &[u8], pos: &mut usize, info: u8) -> Result<Option<u64>, String> {
    let width = match info {
        0..=23 => return Ok(Some(u64::from(info))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Ok(None),
        _ => return Err(format!("reserved additional information {info}")),
    };
    let bytes = data
        .get(*pos..*pos + width)
        .ok_or("truncated CBOR argument")?;
    *pos += width;
    Ok(Some(
        bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    ))
}

/// A half-precision float (RFC 8949 appendix D).
fn half(bits: u16) -> f64 {
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x3ff);
    let value = match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mantissa + 1024.0) * 2f64.powi(exponent - 25),
    };
    if bits & 0x8000 != 0 {
        -value
    } else {
        value
    }
}

/// One CBOR data item at `pos` as JSON (tags are dropped: a timestamp becomes
/// its epoch seconds, as JSON 1.0 writes it).
pub fn decode(data: &[u8], pos: &mut usize) -> Result<Value, String> {
    let initial = *data.get(*pos).ok_or("truncated CBOR")?;
    *pos += 1;
    let (major, info) = (initial >> 5, initial & 0x1f);
    match major {
        0 => Ok(Value::from(argument(data, pos, info)?.ok_or("bad uint")?)),
        1 => {
            let n = argument(data, pos, info)?.ok_or("bad negative int")?;
            Ok(Value::from(
                -1 - i64::try_from(n).map_err(|e| e.to_string())?,
            ))
        }
        2 | 3 => {
            let mut bytes = Vec::new();
            match argument(data, pos, info)? {
                Some(len) => {
                    let len = usize::try_from(len).map_err(|e| e.to_string())?;
                    bytes.extend_from_slice(data.get(*pos..*pos + len).ok_or("truncated string")?);
                    *pos += len;
                }
                None => {
                    while data.get(*pos) != Some(&0xff) {
                        match decode(data, pos)? {
                            Value::String(chunk) => bytes.extend_from_slice(chunk.as_bytes()),
                            other => return Err(format!("bad string chunk {other}")),
                        }
                    }
                    *pos += 1;
                }
            }
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        4 => {
            let mut items = Vec::new();
            match argument(data, pos, info)? {
                Some(n) => {
                    for _ in 0..n {
                        items.push(decode(data, pos)?);
                    }
                }
                None => {
                    while data.get(*pos) != Some(&0xff) {
                        items.push(decode(data, pos)?);
                    }
                    *pos += 1;
                }
            }
            Ok(Value::Array(items))
        }
        5 => {
            let mut map = Map::new();
            let mut entry = |pos: &mut usize| -> Result<(), String> {
                let key = match decode(data, pos)? {
                    Value::String(key) => key,
                    other => return Err(format!("map key {other} is not text")),
                };
                map.insert(key, decode(data, pos)?);
                Ok(())
            };
            match argument(data, pos, info)? {
                Some(n) => {
                    for _ in 0..n {
                        entry(pos)?;
                    }
                }
                None => {
                    while data.get(*pos) != Some(&0xff) {
                        entry(pos)?;
                    }
                    *pos += 1;
                }
            }
            Ok(Value::Object(map))
        }
        6 => {
            argument(data, pos, info)?;
            decode(data, pos)
        }
        _ => match info {
            20 => Ok(Value::Bool(false)),
            21 => Ok(Value::Bool(true)),
            22 | 23 => Ok(Value::Null),
            25 => {
                let bits = argument(data, pos, info)?.ok_or("bad half")?;
                Ok(float(half(bits as u16)))
            }
            26 => {
                let bits = argument(data, pos, info)?.ok_or("bad float")?;
                Ok(float(f64::from(f32::from_bits(bits as u32))))
            }
            27 => {
                let bits = argument(data, pos, info)?.ok_or("bad double")?;
                Ok(float(f64::from_bits(bits)))
            }
            _ => Err(format!("unsupported simple value {info}")),
        },
    }
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// JSON as CBOR; `timestamp` marks a number as an epoch-seconds timestamp (tag 1).
pub fn encode(value: &Value, timestamp: bool, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Number(n) if timestamp => {
            out.push(0xc1);
            out.push(0xfb);
            out.extend_from_slice(&n.as_f64().unwrap_or_default().to_be_bytes());
        }
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                head(0, u, out);
            } else if let Some(i) = n.as_i64() {
                head(1, (-1 - i) as u64, out);
            } else {
                out.push(0xfb);
                out.extend_from_slice(&n.as_f64().unwrap_or_default().to_be_bytes());
            }
        }
        Value::String(s) => {
            head(3, s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            head(4, items.len() as u64, out);
            for item in items {
                encode(item, timestamp, out);
            }
        }
        Value::Object(map) => {
            head(5, map.len() as u64, out);
            for (key, item) in map {
                head(3, key.len() as u64, out);
                out.extend_from_slice(key.as_bytes());
                let is_timestamp = key.ends_with("Timestamp") || key == "Timestamps";
                encode(item, is_timestamp, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_survives_a_round_trip_through_cbor() {
        let value = json!({"a": [1, -2, 1.5, "x", null, true], "Period": 60, "Threshold": 1.0});
        let mut cbor = Vec::new();
        encode(&value, false, &mut cbor);
        assert_eq!(decode(&cbor, &mut 0).expect("decodes"), value);
    }

    #[test]
    fn timestamps_are_tagged() {
        let mut cbor = Vec::new();
        encode(&json!({"StateUpdatedTimestamp": 1.5}), false, &mut cbor);
        // map(1), text(21) "StateUpdatedTimestamp", tag 1, double
        assert_eq!(cbor[0], 0xa1);
        assert_eq!(cbor[1 + 1 + 21], 0xc1);
    }

    #[test]
    fn rfc_8949_examples_decode() {
        assert_eq!(decode(&[0x19, 0x03, 0xe8], &mut 0), Ok(json!(1000)));
        assert_eq!(decode(&[0x38, 0x63], &mut 0), Ok(json!(-100)));
        assert_eq!(decode(&[0xf9, 0x3c, 0x00], &mut 0), Ok(json!(1.0)));
        assert_eq!(decode(&[0x9f, 0x01, 0x02, 0xff], &mut 0), Ok(json!([1, 2])));
        assert_eq!(
            decode(&[0xbf, 0x61, 0x61, 0x01, 0xff], &mut 0),
            Ok(json!({"a": 1}))
        );
    }
}
