//! Every kind of client mistake gets a clear 4xx JSON error, never a 500 or a hang.

mod common;

use common::*;
use serde_json::json;

async fn expect_error(
    method: &str,
    path: &str,
    body: Option<&str>,
    ctype: Option<&str>,
    status: u16,
    code: &str,
) {
    let s = shared();
    let mut req = http().request(method.parse().unwrap(), s.url(path));
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let r = req.send().await.unwrap();
    let got = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(got, status, "{method} {path}: {body}");
    assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
}

#[test]
fn bad_requests_get_json_errors() {
    // Start the shared server here, not inside block_on (starting it blocks on the runtime).
    shared();
    let j = Some("application/json");
    rt().block_on(async {
        expect_error(
            "POST",
            "/api/v1/runs",
            Some("{not json"),
            j,
            400,
            "malformed_json",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","code":"x","bogus":1}"#),
            j,
            422,
            "invalid_body",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"cobol","code":"x"}"#),
            j,
            400,
            "unknown_language",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python"}"#),
            j,
            400,
            "bad_request",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","code":"x","files":[{"name":"a","content":""}]}"#),
            j,
            400,
            "bad_request",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","code":"x","limits":{"wall_ms":999999999}}"#),
            j,
            400,
            "bad_request",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","code":"x","limits":{"wall_ms":0}}"#),
            j,
            400,
            "bad_request",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","code":"x","limits":{"bogus":1}}"#),
            j,
            422,
            "invalid_body",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","files":[{"name":"../x.py","content":"x"}]}"#),
            j,
            400,
            "bad_request",
        )
        .await;
        expect_error(
            "POST",
            "/api/v1/runs",
            Some(r#"{"language":"python","code":"x"}"#),
            None,
            415,
            "unsupported_media_type",
        )
        .await;
        let big = format!(
            r#"{{"language":"python","code":"{}"}}"#,
            "x".repeat(3 * 1024 * 1024)
        );
        expect_error("POST", "/api/v1/runs", Some(&big), j, 413, "too_large").await;
        let code = "x".repeat(600 * 1024);
        let body = json!({"language": "python", "code": code}).to_string();
        expect_error("POST", "/api/v1/runs", Some(&body), j, 400, "bad_request").await;
        let files: Vec<_> = (0..40)
            .map(|i| json!({"name": format!("f{i}.py"), "content": ""}))
            .collect();
        let body = json!({"language": "python", "files": files}).to_string();
        expect_error("POST", "/api/v1/runs", Some(&body), j, 400, "bad_request").await;
        let stdin = "x".repeat(1500 * 1024);
        let body = json!({"language": "python", "code": "x", "stdin": stdin}).to_string();
        expect_error("POST", "/api/v1/runs", Some(&body), j, 400, "bad_request").await;
        expect_error("GET", "/api/v1/nope", None, None, 404, "not_found").await;
        expect_error(
            "DELETE",
            "/api/v1/runs",
            None,
            None,
            405,
            "method_not_allowed",
        )
        .await;
        expect_error("GET", "/api/v1/ws", None, None, 400, "websocket_required").await;
        let r = http()
            .post(shared().url("/api/v1/runs"))
            .header("x-api-key", "nope")
            .json(&json!({"language":"python","code":"print(1)"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    });
}

#[test]
fn bad_frames_get_error_frames_and_the_socket_stays_usable() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        for (frame, code) in [
            ("{nope", "bad_request"),
            (r#"{"type":"fly"}"#, "bad_request"),
            (
                r#"{"type":"run","language":"cobol","code":"x"}"#,
                "unknown_language",
            ),
            (r#"{"type":"run","language":"python"}"#, "bad_request"),
            (r#"{"type":"stdin","data":"x"}"#, "no_run"),
            (
                r#"{"type":"run","language":"python","code":"x","limits":{"memory_mb":99999}}"#,
                "bad_request",
            ),
        ] {
            use futures_util::SinkExt;
            ws.send(tokio_tungstenite::tungstenite::Message::Text(frame.into()))
                .await
                .unwrap();
            let f = ws_next(&mut ws).await;
            assert_eq!(f["type"], "error", "{frame}: {f}");
            assert_eq!(f["code"], code, "{frame}: {f}");
        }
        {
            use futures_util::SinkExt;
            ws.send(tokio_tungstenite::tungstenite::Message::Binary(
                vec![1, 2, 3].into(),
            ))
            .await
            .unwrap();
            let f = ws_next(&mut ws).await;
            assert_eq!(f["code"], "bad_request");
            let big = json!({"type": "stdin", "data": "x".repeat(1100 * 1024)}).to_string();
            ws.send(tokio_tungstenite::tungstenite::Message::Text(big.into()))
                .await
                .unwrap();
            let f = ws_next(&mut ws).await;
            assert_eq!(f["code"], "too_large");
        }
        ws_send(&mut ws, run_frame("bash", "echo still fine")).await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "still fine\n", "{frames:?}");
    });
}

/// Sends `head` and then all of `body` before reading anything, as Python's urllib and
/// requests do; returns the status and the JSON body of the answer.
async fn send_whole_then_read(
    s: &TestServer,
    head: String,
    body: &[u8],
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    // A broken pipe here is the bug: the server closed before reading the body.
    tcp.write_all(body)
        .await
        .expect("the server reads the whole body");
    tcp.flush().await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    // Read until the end of the JSON body (the connection may stay open).
    loop {
        let n = tokio::time::timeout_at(deadline, tcp.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if n == 0 || text.contains("\r\n\r\n") && text.trim_end().ends_with('}') {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let json = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(json).unwrap_or_default())
}

#[test]
fn oversize_bodies_get_a_readable_413() {
    let s = shared();
    rt().block_on(async {
        // 10 MB against the 2 MiB limit: the whole body is written before the answer is read.
        let body = vec![b'x'; 10_000_000];
        for (path, ctype) in [
            ("/api/v1/runs", "application/json"),
            ("/api/v2/execute", "text/plain"),
        ] {
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                s.addr,
                body.len()
            );
            let (status, answer) = send_whole_then_read(s, head, &body).await;
            assert_eq!(status, 413, "{path}: {answer}");
            assert_eq!(answer["error"]["code"], "too_large", "{path}: {answer}");
        }
        // The same without a length: chunked.
        let mut chunked = Vec::new();
        for chunk in body.chunks(1 << 20) {
            chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            chunked.extend_from_slice(chunk);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let head = format!(
            "POST /api/v1/runs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            s.addr
        );
        let (status, answer) = send_whole_then_read(s, head, &chunked).await;
        assert_eq!(status, 413, "chunked: {answer}");
        assert_eq!(answer["error"]["code"], "too_large", "chunked: {answer}");
        // A body within the limit still runs, chunked or not.
        let ok = json!({"language": "bash", "code": "echo small"}).to_string();
        let head = format!(
            "POST /api/v1/runs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            s.addr
        );
        let small = format!("{:x}\r\n{ok}\r\n0\r\n\r\n", ok.len());
        let (status, answer) = send_whole_then_read(s, head, small.as_bytes()).await;
        assert_eq!((status, answer["stdout"].as_str()), (200, Some("small\n")), "{answer}");
    });
}
