//! Plots and files: what a program leaves in `/workspace/output` comes back with its result
//! (REST `artifacts`, WebSocket `artifact` frames before `exit`), within the engine's bounds,
//! without following links, and gone before the next run.

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// Bounds small enough to reach: 3 files, 64 KiB (a matplotlib figure is ~25 KB).
const MAX_FILES: u32 = 3;
const MAX_BYTES: u64 = 64 * 1024;

/// One python container, so that consecutive runs share it.
fn server() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| {
        let mut cfg = config("srv-artifacts", &["python"]);
        cfg.engine.artifacts_max_files = MAX_FILES;
        cfg.engine.artifacts_max_bytes = MAX_BYTES;
        start(cfg)
    })
}

async fn run(code: &str) -> Value {
    // Roomy limits: matplotlib takes seconds to import, several times more under gVisor on
    // a busy host; these tests are about the files, not the time.
    let (status, _, body) = post(
        &server().url("/api/v1/runs"),
        json!({"language": "python", "code": code,
               "limits": {"wall_ms": 45_000, "cpu_ms": 25_000}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn names(body: &Value) -> Vec<String> {
    body["artifacts"]
        .as_array()
        .unwrap_or_else(|| panic!("no artifacts array: {body}"))
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

fn decoded(artifact: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(artifact["data"].as_str().unwrap())
        .unwrap()
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The width and height of a PNG (its IHDR chunk comes first).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(PNG_SIGNATURE), "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn a_matplotlib_plot_comes_back_as_a_png() {
    server(); // started outside the runtime it blocks on
    rt().block_on(async {
        let body = run(r#"
import matplotlib.pyplot as plt
import numpy as np
x = np.linspace(0, 6.3, 100)
plt.plot(x, np.sin(x))
plt.show()
plt.plot([1, 2, 3], [3, 1, 2])
plt.savefig("/workspace/output/line.svg")
plt.show()
print("plotted")
"#)
        .await;
        assert_eq!(body["verdict"], "ok", "{body}");
        assert_eq!(body["stdout"], "plotted\n");
        // Name order; show() numbers the figures it saved across the program.
        assert_eq!(
            names(&body),
            ["figure-1.png", "figure-2.png", "line.svg"],
            "{body}"
        );
        assert!(body.get("artifacts_truncated").is_none(), "{body}");
        let figure = &body["artifacts"][0];
        assert_eq!(figure["mime"], "image/png");
        let png = decoded(figure);
        assert_eq!(figure["size"], png.len() as u64);
        // matplotlib's default figure: 6.4 × 4.8 inches at 100 dpi.
        assert_eq!(png_size(&png), (640, 480));
        let svg = &body["artifacts"][2];
        assert_eq!(svg["mime"], "image/svg+xml");
        assert!(String::from_utf8(decoded(svg)).unwrap().contains("<svg"));
    });
}

#[test]
fn the_bounds_hold_and_say_so() {
    server(); // started outside the runtime it blocks on
    rt().block_on(async {
        // More files than allowed: the first three by name, and the cut is reported.
        let body = run(r#"
for name in ["e.txt", "b.csv", "a.json", "d.bin", "c.txt"]:
    open(f"/workspace/output/{name}", "w").write(name)
"#)
        .await;
        assert_eq!(names(&body), ["a.json", "b.csv", "c.txt"], "{body}");
        assert_eq!(body["artifacts_truncated"], true, "{body}");
        let mimes: Vec<&str> = body["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["mime"].as_str().unwrap())
            .collect();
        assert_eq!(mimes, ["application/json", "text/csv", "text/plain"]);
        assert_eq!(decoded(&body["artifacts"][1]), b"b.csv");

        // More bytes than allowed: what fits before the first file that does not.
        let body = run(&format!(
            r#"
open("/workspace/output/a.bin", "wb").write(b"x" * 1000)
open("/workspace/output/b.bin", "wb").write(b"y" * {MAX_BYTES})
open("/workspace/output/c.bin", "wb").write(b"z")
"#
        ))
        .await;
        assert_eq!(names(&body), ["a.bin"], "{body}");
        assert_eq!(body["artifacts_truncated"], true);
        assert_eq!(body["artifacts"][0]["size"], 1000);

        // Exactly at the bounds: everything, nothing cut.
        let body = run(&format!(
            r#"
open("/workspace/output/a", "wb").write(b"1" * {half})
open("/workspace/output/b", "wb").write(b"2" * {half})
"#,
            half = MAX_BYTES / 2
        ))
        .await;
        assert_eq!(names(&body), ["a", "b"], "{body}");
        assert!(body.get("artifacts_truncated").is_none(), "{body}");
        assert_eq!(body["artifacts"][0]["mime"], "application/octet-stream");
    });
}

#[test]
fn links_and_special_files_are_not_followed() {
    server(); // started outside the runtime it blocks on
    rt().block_on(async {
        // Links to files outside (and inside) the sandbox, a hard link is a plain file of
        // the workspace, a pipe nobody writes, a sub-directory: only regular files come back.
        let body = run(r#"
import os
os.chdir("/workspace/output")
os.symlink("/etc/passwd", "passwd")
os.symlink("/opt/warmrun/agent", "agent")
os.symlink("/proc/self/environ", "environ")
open("/workspace/secret.txt", "w").write("outside the output directory")
os.symlink("/workspace/secret.txt", "secret.txt")
os.mkfifo("pipe")
os.mkdir("sub")
open("sub/deep.txt", "w").write("deep")
open("real.txt", "w").write("real")
print("ok")
"#)
        .await;
        assert_eq!(body["verdict"], "ok", "{body}");
        assert_eq!(names(&body), ["real.txt"], "{body}");

        // The output directory itself replaced by a link to /etc: nothing.
        let body = run(r#"
import os
os.rmdir("/workspace/output")
os.symlink("/etc", "/workspace/output")
print(len(os.listdir("/workspace/output")) > 0)
"#)
        .await;
        assert_eq!(body["stdout"], "True\n", "{body}");
        assert_eq!(names(&body), Vec::<String>::new(), "{body}");
    });
}

#[test]
fn the_next_run_starts_with_an_empty_output_directory() {
    server(); // started outside the runtime it blocks on
    rt().block_on(async {
        let body = run("open('/workspace/output/left.txt', 'w').write('x')").await;
        assert_eq!(names(&body), ["left.txt"], "{body}");
        let body = run("import os; print(os.listdir('/workspace/output'))").await;
        assert_eq!(body["stdout"], "[]\n", "{body}");
        assert_eq!(names(&body), Vec::<String>::new());
    });
}

#[test]
fn websocket_sends_artifacts_before_exit() {
    server(); // started outside the runtime it blocks on
    rt().block_on(async {
        let mut ws = ws_connect(server()).await;
        ws_send(
            &mut ws,
            run_frame(
                "python",
                "open('/workspace/output/b.txt','w').write('bee')\n\
                 open('/workspace/output/a.png','wb').write(b'\\x89PNG')\nprint('done')",
            ),
        )
        .await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "done\n");
        let kinds: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
        let first = kinds
            .iter()
            .position(|k| *k == "artifact")
            .expect("artifacts");
        assert_eq!(
            &kinds[first..],
            ["artifact", "artifact", "exit"],
            "{frames:?}"
        );
        let a = &frames[first];
        assert_eq!(
            (a["name"].as_str(), a["mime"].as_str(), a["size"].as_u64()),
            (Some("a.png"), Some("image/png"), Some(4))
        );
        assert_eq!(decoded(&frames[first + 1]), b"bee");
        assert!(frames.last().unwrap().get("artifacts_truncated").is_none());
    });
}
