//! The JSON shapes, pinned byte for byte: what the server sends and the app reads (and the
//! other way round) must not change by accident.

use serde_json::json;
use warmrun_api::*;

fn run_frame(body: RunBody, tty: bool, size: Option<(u16, u16)>) -> ClientFrame {
    ClientFrame::Run(RunFrame {
        run: body,
        tty,
        cols: size.map(|s| s.0),
        rows: size.map(|s| s.1),
    })
}

fn code(language: &str, code: &str) -> RunBody {
    RunBody {
        language: language.into(),
        code: Some(code.into()),
        ..RunBody::default()
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn client_frames_serialize_as_the_server_reads_them() {
    let run = run_frame(code("python", "print(1)"), false, Some((80, 24)));
    let text = to_json(&run);
    assert_eq!(
        text,
        r#"{"type":"run","language":"python","code":"print(1)","cols":80,"rows":24}"#
    );
    assert_eq!(serde_json::from_str::<ClientFrame>(&text).unwrap(), run);
    let tty = run_frame(code("c", ""), true, None);
    assert_eq!(
        to_json(&tty),
        r#"{"type":"run","language":"c","code":"","tty":true}"#
    );
    assert_eq!(to_json(&ClientFrame::Eof {}), r#"{"type":"eof"}"#);
    assert_eq!(to_json(&ClientFrame::Kill {}), r#"{"type":"kill"}"#);
    assert_eq!(
        to_json(&ClientFrame::Stdin {
            data: "Ada\n".into()
        }),
        r#"{"type":"stdin","data":"Ada\n"}"#
    );
    assert_eq!(
        to_json(&ClientFrame::Resize {
            cols: 100,
            rows: 30
        }),
        r#"{"type":"resize","cols":100,"rows":30}"#
    );
}

#[test]
fn client_frames_parse_strictly() {
    let f: ClientFrame =
        serde_json::from_str(r#"{"type":"run","language":"python","code":"print(1)"}"#).unwrap();
    let ClientFrame::Run(run) = f else {
        panic!("{f:?}")
    };
    assert_eq!(run.run, code("python", "print(1)"));
    assert!(!run.tty && run.cols.is_none());
    let full: ClientFrame = serde_json::from_value(json!({
        "type": "run", "language": "c", "files": [{"name": "main.c", "content": "int main;"}],
        "stdin": "x", "args": ["-v"], "limits": {"wall_ms": 500}, "tty": true, "cols": 100, "rows": null
    }))
    .unwrap();
    let ClientFrame::Run(full) = full else {
        panic!()
    };
    assert_eq!(full.run.limits.wall_ms, Some(500));
    assert_eq!(full.run.args, ["-v"]);
    assert_eq!((full.tty, full.cols, full.rows), (true, Some(100), None));

    for bad in [
        r#"{"type":"nope"}"#,
        r#"{"type":"eof","x":1}"#,
        r#"{"type":"run","language":"python","code":"x","bogus":1}"#,
        r#"{"type":"run","language":"python","code":"x","limits":{"bogus":1}}"#,
        r#"{"type":"run","language":"python","code":"x","tty":"yes"}"#,
        r#"{"type":"run","language":"python","code":"x","cols":-1}"#,
        r#"{"type":"run","code":"x"}"#,
        r#"{"type":"resize","cols":1}"#,
    ] {
        assert!(serde_json::from_str::<ClientFrame>(bad).is_err(), "{bad}");
    }
    let e = serde_json::from_str::<ClientFrame>(
        r#"{"type":"run","language":"python","code":"x","colour":1}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("unknown field `colour`") && e.contains("`tty`"),
        "{e}"
    );
}

#[test]
fn server_frames_serialize_and_parse() {
    assert_eq!(
        to_json(&ServerFrame::Queued { position: 2 }),
        r#"{"type":"queued","position":2}"#
    );
    assert_eq!(to_json(&ServerFrame::Started), r#"{"type":"started"}"#);
    assert_eq!(
        to_json(&ServerFrame::WaitingForInput),
        r#"{"type":"waiting_for_input"}"#
    );
    assert_eq!(
        serde_json::from_str::<ServerFrame>(r#"{"type":"waiting_for_input"}"#).unwrap(),
        ServerFrame::WaitingForInput
    );
    let exit_text = r#"{"type":"exit","verdict":"ok","exit_code":0,"signal":null,"wall_ms":12,"cpu_ms":10,"memory_kb":9000,"truncated":false,"lease":"warm","total_ms":15}"#;
    let exit = ServerFrame::Exit(ExitJson {
        verdict: Verdict::Ok,
        exit_code: Some(0),
        signal: None,
        wall_ms: 12,
        cpu_ms: 10,
        memory_kb: 9000,
        truncated: false,
        lease: LeaseKind::Warm,
        total_ms: 15,
        artifacts_truncated: false,
    });
    assert_eq!(to_json(&exit), exit_text);
    assert_eq!(
        serde_json::from_str::<ServerFrame>(exit_text).unwrap(),
        exit
    );
    let artifact_text =
        r#"{"type":"artifact","name":"figure-1.png","mime":"image/png","size":3,"data":"AQID"}"#;
    let artifact = ServerFrame::Artifact(warmrun_api::Artifact {
        name: "figure-1.png".into(),
        mime: "image/png".into(),
        size: 3,
        data: "AQID".into(),
    });
    assert_eq!(to_json(&artifact), artifact_text);
    assert_eq!(
        serde_json::from_str::<ServerFrame>(artifact_text).unwrap(),
        artifact
    );
    let compile_text = r#"{"type":"compile","verdict":"compile_error","exit_code":1,"signal":null,"wall_ms":123,"stdout":"","stderr":"main.c:1: error","cached":false}"#;
    let compile = ServerFrame::Compile(CompileJson {
        verdict: Verdict::CompileError,
        exit_code: Some(1),
        signal: None,
        wall_ms: 123,
        stdout: String::new(),
        stderr: "main.c:1: error".into(),
        cached: false,
    });
    assert_eq!(to_json(&compile), compile_text);
    // A reused compile says so; older senders leave it out.
    let cached_text = r#"{"type":"compile","verdict":"ok","exit_code":0,"signal":null,"wall_ms":0,"stdout":"","stderr":"","cached":true}"#;
    let ServerFrame::Compile(cached) = serde_json::from_str::<ServerFrame>(cached_text).unwrap()
    else {
        panic!("a compile frame")
    };
    assert!(cached.cached);
    let old_text = compile_text.replace(r#","cached":false"#, "");
    assert_eq!(
        serde_json::from_str::<ServerFrame>(&old_text).unwrap(),
        compile
    );
    assert_eq!(
        serde_json::from_str::<ServerFrame>(compile_text).unwrap(),
        compile
    );
    let error = ServerFrame::Error {
        code: "queue_full".into(),
        message: "busy".into(),
    };
    assert_eq!(
        to_json(&error),
        r#"{"type":"error","code":"queue_full","message":"busy"}"#
    );
    assert_eq!(
        to_json(&ServerFrame::Stderr { data: "x".into() }),
        r#"{"type":"stderr","data":"x"}"#
    );
    assert_eq!(
        serde_json::from_str::<ServerFrame>(r#"{"type":"future_thing","x":1}"#).unwrap(),
        ServerFrame::Unknown
    );
}

#[test]
fn run_results_flatten_the_exit() {
    let r = RunResultJson {
        exit: ExitJson {
            verdict: Verdict::TimeLimit,
            exit_code: None,
            signal: Some(9),
            wall_ms: 1000,
            cpu_ms: 990,
            memory_kb: 100,
            truncated: true,
            lease: LeaseKind::Queued,
            total_ms: 1200,
            artifacts_truncated: true,
        },
        stdout: "a".into(),
        stderr: String::new(),
        compile: None,
        tests: None,
        artifacts: vec![warmrun_api::Artifact {
            name: "a.txt".into(),
            mime: "text/plain".into(),
            size: 2,
            data: "aGk=".into(),
        }],
        cached: false,
    };
    let text = r#"{"verdict":"time_limit","exit_code":null,"signal":9,"wall_ms":1000,"cpu_ms":990,"memory_kb":100,"truncated":true,"lease":"queued","total_ms":1200,"artifacts_truncated":true,"stdout":"a","stderr":"","compile":null,"artifacts":[{"name":"a.txt","mime":"text/plain","size":2,"data":"aGk="}]}"#;
    assert_eq!(to_json(&r), text);
    assert_eq!(serde_json::from_str::<RunResultJson>(text).unwrap(), r);
}

#[test]
fn verdicts_have_their_snake_case_names() {
    let names = [
        "ok",
        "runtime_error",
        "compile_error",
        "time_limit",
        "cpu_limit",
        "memory_limit",
        "output_limit",
        "killed",
        "internal_error",
        "idle_limit",
        "accepted",
        "wrong_answer",
    ];
    assert_eq!(names.len(), Verdict::ALL.len());
    for (v, name) in Verdict::ALL.iter().zip(names) {
        assert_eq!(to_json(v), format!("\"{name}\""));
        assert_eq!(v.as_str(), name);
        assert_eq!(name.parse::<Verdict>(), Ok(*v));
    }
    assert!("great".parse::<Verdict>().is_err());
    assert_eq!(Verdict::Ok, "ok");
    for (l, name) in [
        (LeaseKind::Warm, "warm"),
        (LeaseKind::Cold, "cold"),
        (LeaseKind::Queued, "queued"),
    ] {
        assert_eq!(to_json(&l), format!("\"{name}\""));
        assert_eq!(l.as_str(), name);
    }
}

#[test]
fn run_bodies_follow_the_rules() {
    let ok: RunBody = serde_json::from_str(r#"{"language":"python","code":"print(1)"}"#).unwrap();
    assert!(ok.validate().is_ok());
    assert!(
        serde_json::from_str::<RunBody>(r#"{"language":"python","code":"x","bogus":1}"#).is_err()
    );
    let file = |name: &str| File {
        name: name.into(),
        content: String::new(),
    };
    let with_files = |files: Vec<File>| RunBody {
        language: "c".into(),
        files: Some(files),
        ..RunBody::default()
    };
    assert!(with_files(vec![file(""), file("lib/x.h")])
        .validate()
        .is_ok());
    for bad in [
        RunBody {
            language: "python".into(),
            ..RunBody::default()
        },
        RunBody {
            files: Some(vec![file("a")]),
            ..code("python", "x")
        },
        with_files(vec![]),
        with_files(vec![file("../x.py")]),
        with_files(vec![file("/etc/passwd")]),
        with_files(vec![file("a//b")]),
        with_files(vec![file("./a")]),
        with_files(vec![file("a\0")]),
        with_files(vec![file(&"n".repeat(256))]),
        with_files(vec![file("a"), file("")]),
        with_files(vec![file("a"), file("a")]),
        with_files((0..33).map(|i| file(&format!("f{i}"))).collect()),
        RunBody {
            args: vec!["x".into(); 65],
            ..code("python", "x")
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    assert_eq!(
        code("python", "x").take_files(),
        vec![File {
            name: String::new(),
            content: "x".into()
        }]
    );
}

#[test]
fn snippet_bodies() {
    let body = NewSnippet {
        language: "python".into(),
        code: Some("print(1)".into()),
        output: Some(SnippetOutput {
            verdict: Verdict::Ok,
            stdout: "1\n".into(),
            stderr: String::new(),
            exit_code: Some(0),
        }),
        ..NewSnippet::default()
    };
    assert_eq!(
        to_json(&body),
        r#"{"language":"python","code":"print(1)","output":{"verdict":"ok","stdout":"1\n","stderr":"","exit_code":0}}"#
    );
    let bare = NewSnippet {
        output: None,
        ..body
    };
    assert_eq!(to_json(&bare), r#"{"language":"python","code":"print(1)"}"#);
    assert!(serde_json::from_value::<NewSnippet>(
        json!({"language": "c", "code": "x", "public": true})
    )
    .is_err());
    assert!(serde_json::from_value::<NewSnippet>(
        json!({"language": "c", "code": "x", "output": {"verdict": "ok", "colour": 1}})
    )
    .is_err());

    let text = r#"{"id":"olYjEeaGrV58","url":"/s/olYjEeaGrV58","language":"python","code":"print(1)","files":null,"stdin":null,"title":null,"output":{"verdict":"ok","stdout":"1\n","stderr":"","exit_code":null},"created_at":"2026-11-22T09:15:02.123Z"}"#;
    let s: Snippet = serde_json::from_str(text).unwrap();
    assert_eq!(to_json(&s), text, "absent parts are sent as null");
    assert_eq!(s.main_code(), "print(1)");
    assert_eq!(s.extra_files(), 0);
    assert_eq!(s.output.unwrap().verdict, Verdict::Ok);

    let multi: Snippet = serde_json::from_str(
        r#"{"id":"a","url":"/s/a","language":"c","code":null,"files":[{"name":"main.c","content":"int main;"},{"name":"x.h","content":""}],"stdin":null,"title":"T","output":null,"created_at":"x"}"#,
    )
    .unwrap();
    assert_eq!(multi.main_code(), "int main;");
    assert_eq!(multi.extra_files(), 1);

    let created: Created =
        serde_json::from_str(r#"{"id":"olYjEeaGrV58","url":"/s/olYjEeaGrV58"}"#).unwrap();
    assert_eq!(
        to_json(&created),
        r#"{"id":"olYjEeaGrV58","url":"/s/olYjEeaGrV58"}"#
    );
}

#[test]
fn stats_and_languages() {
    let text = r#"{"total_runs":1234,"days":null,"since":"2026-11-22","verdicts":[{"verdict":"ok","runs":1135,"share":0.9198},{"verdict":"runtime_error","runs":99,"share":0.0802}],"languages":[{"language":"python","runs":740,"share":0.5997,"avg_wall_ms":31.4,"verdicts":[{"verdict":"ok","runs":740,"share":1.0}]}]}"#;
    let stats: Stats = serde_json::from_str(text).unwrap();
    assert_eq!(to_json(&stats), text);
    assert_eq!(stats.verdicts[1].verdict, Verdict::RuntimeError);
    let lenient: Stats = serde_json::from_str(
        r#"{"total_runs":1,"verdicts":[],"languages":[{"language":"c","runs":1,"share":1.0,"avg_wall_ms":null,"verdicts":[]}]}"#,
    )
    .unwrap();
    assert_eq!(lenient.languages[0].avg_wall_ms, 0.0);
    assert_eq!(lenient.days, None);

    let lang = Language {
        id: "python".into(),
        name: "Python 3".into(),
        version: "3.11.2".into(),
        file: "main.py".into(),
        aliases: vec!["py".into()],
        version_of: None,
        compiled: false,
        example: "print(1)".into(),
        examples: vec![Example {
            id: "hello".into(),
            name: "Hello".into(),
            code: "print(1)".into(),
        }],
        limits: Limits {
            wall_ms: 5000,
            cpu_ms: 5000,
            memory_mb: 256,
            output_kb: 1024,
            compile_wall_ms: 30000,
            idle_ms: 300000,
        },
        formatter: None,
    };
    assert_eq!(
        to_json(&lang),
        r#"{"id":"python","name":"Python 3","version":"3.11.2","file":"main.py","aliases":["py"],"compiled":false,"example":"print(1)","examples":[{"id":"hello","name":"Hello","code":"print(1)"}],"limits":{"wall_ms":5000,"cpu_ms":5000,"memory_mb":256,"output_kb":1024,"compile_wall_ms":30000,"idle_ms":300000}}"#
    );
    // An older server lists no examples: clients still read its catalog.
    let older: Language = serde_json::from_str(
        r#"{"id":"c","name":"C","version":"12","file":"main.c","aliases":[],"compiled":true,"example":"int main(){}","limits":{"wall_ms":1,"cpu_ms":1,"memory_mb":16,"output_kb":1,"compile_wall_ms":1}}"#,
    )
    .unwrap();
    assert!(older.examples.is_empty());
}

#[test]
fn error_bodies() {
    let e = ErrorBody::new("not_found", "no snippet x");
    let text = r#"{"error":{"code":"not_found","message":"no snippet x"}}"#;
    assert_eq!(to_json(&e), text);
    assert_eq!(ErrorBody::parse(text), Some(e));
    assert_eq!(ErrorBody::parse("<html>"), None);
}

/// Judge mode's request and result shapes, pinned.
#[test]
fn judged_runs_have_their_shapes() {
    use warmrun_api::{CaseResultJson, Comparison, TestCase, TestSummaryJson, TestsJson};
    let body: RunBody = serde_json::from_str(
        r#"{"language":"c","code":"x","tests":[{"stdin":"1 2","expected_stdout":"3"},{"stdin":"","args":["-v"]}],
            "comparison":{"mode":"numbers","tolerance":0.001},"stop_on_first_failure":true}"#,
    )
    .unwrap();
    assert!(body.validate().is_ok());
    let tests = body.tests.as_ref().unwrap();
    assert_eq!(tests[0].expected_stdout.as_deref(), Some("3"));
    assert_eq!(tests[1].args.as_deref(), Some(&["-v".to_string()][..]));
    assert_eq!(
        body.comparison,
        Some(Comparison::Numbers { tolerance: 0.001 })
    );
    for (text, mode) in [
        (r#"{"mode":"exact"}"#, Comparison::Exact),
        (
            r#"{"mode":"trailing_whitespace"}"#,
            Comparison::TrailingWhitespace,
        ),
        (r#"{"mode":"tokens"}"#, Comparison::Tokens),
        (
            r#"{"mode":"numbers"}"#,
            Comparison::Numbers { tolerance: 1e-6 },
        ),
    ] {
        assert_eq!(serde_json::from_str::<Comparison>(text).unwrap(), mode);
    }
    assert_eq!(Comparison::default(), Comparison::TrailingWhitespace);
    for bad in [
        r#"{"mode":"fuzzy"}"#,
        r#""exact""#,
        r#"{"mode":"numbers","tolerence":1}"#,
    ] {
        assert!(serde_json::from_str::<Comparison>(bad).is_err(), "{bad}");
    }
    let base = || RunBody {
        language: "c".into(),
        code: Some("x".into()),
        tests: Some(vec![TestCase::default()]),
        ..RunBody::default()
    };
    let rules = [
        RunBody {
            tests: Some(vec![]),
            ..base()
        },
        RunBody {
            stdin: Some("x".into()),
            ..base()
        },
        RunBody {
            comparison: Some(Comparison::Numbers { tolerance: -1.0 }),
            ..base()
        },
        RunBody {
            comparison: Some(Comparison::Numbers {
                tolerance: f64::NAN,
            }),
            ..base()
        },
        RunBody {
            tests: None,
            stop_on_first_failure: true,
            ..base()
        },
        RunBody {
            tests: None,
            comparison: Some(Comparison::Exact),
            ..base()
        },
    ];
    for body in rules {
        assert!(body.validate().is_err(), "{body:?}");
    }
    let result = TestsJson {
        cases: vec![CaseResultJson {
            index: 0,
            verdict: Verdict::WrongAnswer,
            exit_code: Some(0),
            signal: None,
            wall_ms: 2,
            cpu_ms: 1,
            memory_kb: 900,
            truncated: false,
            stdout: "4\n".into(),
            stderr: String::new(),
        }],
        summary: TestSummaryJson {
            passed: 0,
            total: 3,
            run: 1,
            first_failure: Some(0),
        },
    };
    assert_eq!(
        to_json(&result),
        r#"{"cases":[{"index":0,"verdict":"wrong_answer","exit_code":0,"signal":null,"wall_ms":2,"cpu_ms":1,"memory_kb":900,"truncated":false,"stdout":"4\n","stderr":""}],"summary":{"passed":0,"total":3,"run":1,"first_failure":0}}"#
    );
}
