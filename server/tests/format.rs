//! `POST /api/v1/format`: each formatter of the catalog on real containers, a formatter's
//! refusal (syntax error) as 422 `format_error`, and the 400s (unknown language, a language
//! without a formatter); `GET /api/v1/languages` names the formatters.

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

/// Languages with a formatter keep one warm container; `c` (formatted in `c-clang`'s
/// containers), `python-3.11` (formatted by `python`'s) and `lua` (no formatter) none.
fn server() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| {
        let ids = [
            "python",
            "python-3.11",
            "rust",
            "go",
            "c",
            "c-clang",
            "bash",
            "javascript",
            "typescript",
            "lua",
        ];
        let cfg = config("srv-format", &ids);
        let mut catalog = pool::Catalog::load(&cfg.catalog).unwrap();
        for l in &mut catalog.languages {
            l.pool.min_idle = usize::from(!l.format.is_empty());
        }
        std::fs::write(&cfg.catalog, toml::to_string(&catalog).unwrap()).unwrap();
        start(cfg)
    })
}

async fn format(language: &str, code: &str) -> (u16, Value) {
    let (status, _, body) = post(
        &server().url("/api/v1/format"),
        json!({"language": language, "code": code}),
    )
    .await;
    (status, body)
}

/// Untidy code and what each formatter makes of it.
const CASES: &[(&str, &str, &str)] = &[
    (
        "python",
        "x=[1,2 ,3]\nif x :print( x)\n",
        "x = [1, 2, 3]\nif x:\n    print(x)\n",
    ),
    (
        "rust",
        "fn main(){let x=1;println!(\"{}\",x);}\n",
        "fn main() {\n    let x = 1;\n    println!(\"{}\", x);\n}\n",
    ),
    (
        "go",
        "package main\nimport \"fmt\"\nfunc main(){\nfmt.Println( 1 )\n}\n",
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(1)\n}\n",
    ),
    (
        "c",
        "#include <stdio.h>\nint main(){printf(\"hi\\n\");return 0;}\n",
        "#include <stdio.h>\nint main() {\n  printf(\"hi\\n\");\n  return 0;\n}\n",
    ),
    (
        "c-clang",
        "int main(){return 0;}\n",
        "int main() { return 0; }\n",
    ),
    (
        "bash",
        "if true;then echo hi;fi\n",
        "if true; then echo hi; fi\n",
    ),
    (
        "javascript",
        "const x={a:1,b:2}\nconsole.log( x )\n",
        "const x = { a: 1, b: 2 };\nconsole.log(x);\n",
    ),
    ("typescript", "const x:number=1\n", "const x: number = 1;\n"),
    // An older version uses its newest's formatter.
    ("python-3.11", "print( 1 )\n", "print(1)\n"),
];

#[test]
fn every_formatter_formats() {
    server(); // started outside the runtime (it blocks on it)
    rt().block_on(async {
        for (language, code, want) in CASES {
            let (status, body) = format(language, code).await;
            assert_eq!(status, 200, "{language}: {body}");
            assert_eq!(body["code"], *want, "{language}: {body}");
            // Warm latency: the same again (a reset container of the same pool).
            let t = Instant::now();
            let (status, again) = format(language, body["code"].as_str().unwrap()).await;
            assert_eq!(status, 200, "{language}: {again}");
            assert_eq!(again["code"], *want, "{language}: formatting is stable");
            eprintln!(
                "{language}: formatted again in {} ms",
                t.elapsed().as_millis()
            );
        }
    });
}

#[test]
fn a_syntax_error_is_the_formatters_own_message() {
    server(); // started outside the runtime (it blocks on it)
    rt().block_on(async {
        for (language, code, said) in [
            ("python", "def f(:\n    pass\n", "Cannot parse"),
            ("javascript", "const = ;\n", "SyntaxError"),
            ("rust", "fn main( {\n", "error"),
        ] {
            let (status, body) = format(language, code).await;
            assert_eq!(status, 422, "{language}: {body}");
            assert_eq!(body["error"]["code"], "format_error", "{language}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(said), "{language}: {message}");
        }
        // The container went back to its pool in working order: a run of the same
        // language still works.
        let (status, _, body) = post(
            &server().url("/api/v1/runs"),
            json!({"language": "python", "code": "print(6 * 7)"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["stdout"], "42\n", "{body}");
    });
}

#[test]
fn unknown_languages_and_languages_without_a_formatter_are_400() {
    server(); // started outside the runtime (it blocks on it)
    rt().block_on(async {
        let (status, body) = format("cobol-85", "x").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "unknown_language", "{body}");
        let (status, body) = format("lua", "print(1)").await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "no_formatter", "{body}");
        let (status, _, body) = post(
            &server().url("/api/v1/format"),
            json!({"language": "python"}),
        )
        .await;
        assert!((400..500).contains(&status), "no code: {status} {body}");
        let big = "x = 1\n".repeat(100_000);
        let (status, body) = format("python", &big).await;
        assert!((400..500).contains(&status), "600 KB: {status} {body}");
    });
}

#[test]
fn languages_name_their_formatter() {
    server(); // started outside the runtime (it blocks on it)
    rt().block_on(async {
        let langs: Value = reqwest::get(server().url("/api/v1/languages"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let formatter = |id: &str| {
            let l = langs
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["id"] == id)
                .unwrap_or_else(|| panic!("{id} listed: {langs}"));
            l.get("formatter").and_then(Value::as_str).map(String::from)
        };
        assert_eq!(formatter("python").as_deref(), Some("black"));
        assert_eq!(formatter("python-3.11").as_deref(), Some("black"));
        assert_eq!(formatter("c").as_deref(), Some("clang-format"));
        assert_eq!(formatter("go").as_deref(), Some("gofmt"));
        assert_eq!(formatter("typescript").as_deref(), Some("prettier"));
        assert_eq!(formatter("lua"), None);
    });
}
