//! Judge mode on real containers: one compile for every case, each case judged, nothing of
//! one case (files, processes, input) left for the next, and no way for a program to learn
//! another case's input or any expected output.

mod common;

use common::{request, run, text, SUM_C};
use pool::{Engine, JudgeResult, TestSuite, Verdict};
use warmrun_api::{Comparison, TestCase};

const LANGS: &[(&str, usize)] = &[("c", 1), ("python", 1)];

/// The compile counter is the engine's: tests that compile take turns, so that one test's
/// count is not moved by another's.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn engine() -> Engine {
    common::engine("judge", LANGS).await
}

fn case(stdin: &str, expected: Option<&str>) -> TestCase {
    TestCase {
        stdin: stdin.into(),
        expected_stdout: expected.map(str::to_string),
        args: None,
    }
}

async fn judge(engine: &Engine, lang: &str, code: &str, suite: TestSuite) -> JudgeResult {
    let mut req = request(lang, code, "");
    req.tests = Some(suite);
    engine
        .judge(req, &mut |_| {})
        .await
        .expect("the judged run is accepted")
}

fn describe(r: &JudgeResult) -> String {
    let mut s = format!("{:?}\ncompile: {:?}\n", r.outcome.exit, r.compile);
    for c in &r.cases {
        s += &format!(
            "case {}: {} {:?} {:?}\n",
            c.index,
            c.verdict,
            text(&c.stdout),
            text(&c.stderr)
        );
    }
    s
}

/// C compile steps that succeeded: compilations and compiles reused from the compile cache.
fn compiles(engine: &Engine) -> u64 {
    let m = engine.metrics();
    m.compile_seconds
        .with_label_values(&["c", "ok"])
        .get_sample_count()
        + m.compile_cache_hits.with_label_values(&["c"]).get()
}

/// Twenty cases of a C program after one compilation (the compile metric moves by one); the
/// one wrong answer among them is found and named.
#[test]
fn twenty_cases_compile_once_and_the_wrong_answer_is_named() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let cases: Vec<TestCase> = (0..20)
            .map(|i| {
                let want = if i == 13 { 0 } else { 4 * i };
                case(&format!("{i} {}\n", 3 * i), Some(&format!("{want}\n")))
            })
            .collect();
        let before = compiles(&engine);
        let r = judge(
            &engine,
            "c",
            SUM_C,
            TestSuite {
                cases,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(
            compiles(&engine),
            before + 1,
            "one compilation for 20 cases"
        );
        assert_eq!(
            r.compile.as_ref().map(|c| c.exit.verdict),
            Some(Verdict::Ok)
        );
        assert_eq!(r.cases.len(), 20, "{}", describe(&r));
        for c in &r.cases {
            let want = if c.index == 13 {
                Verdict::WrongAnswer
            } else {
                Verdict::Accepted
            };
            assert_eq!(c.verdict, want, "{}", describe(&r));
            assert_eq!(text(&c.stdout), format!("{}\n", 4 * c.index));
            assert_eq!(c.exit.exit_code, Some(0));
        }
        assert_eq!((r.passed(), r.first_failure()), (19, Some(13)));
        assert_eq!(r.outcome.exit.verdict, Verdict::WrongAnswer);
    });
}

/// With `stop_on_first_failure` nothing runs after the first failing case; a runtime error
/// is a failure too, and a case without expected output passes on exit 0.
#[test]
fn stop_on_first_failure_stops_there() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let cases = vec![
            case("1 2", Some("3")),
            case("5 5", None),
            case("not numbers", Some("0")),
            case("2 2", Some("4")),
        ];
        let suite = |stop| TestSuite {
            cases: cases.clone(),
            stop_on_first_failure: stop,
            ..Default::default()
        };
        let r = judge(&engine, "c", SUM_C, suite(true)).await;
        let verdicts: Vec<_> = r.cases.iter().map(|c| c.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Accepted, Verdict::Ok, Verdict::RuntimeError],
            "{}",
            describe(&r)
        );
        assert_eq!((r.passed(), r.first_failure(), r.total), (2, Some(2), 4));
        assert_eq!(r.outcome.exit.verdict, Verdict::RuntimeError);
        let r = judge(&engine, "c", SUM_C, suite(false)).await;
        assert_eq!(r.cases.len(), 4, "{}", describe(&r));
        assert_eq!(r.cases[3].verdict, Verdict::Accepted);
    });
}

/// A compile error runs no case.
#[test]
fn a_compile_error_runs_no_case() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let suite = TestSuite {
            cases: vec![case("1 2", Some("3")), case("1 1", Some("2"))],
            ..Default::default()
        };
        let r = judge(&engine, "c", "int main( {", suite).await;
        assert_eq!(
            r.outcome.exit.verdict,
            Verdict::CompileError,
            "{}",
            describe(&r)
        );
        assert!(r.cases.is_empty());
        assert_eq!((r.passed(), r.first_failure(), r.total), (0, None, 2));
    });
}

/// Comparison modes reach the judge: tokens accept other spacing, numbers a tolerance.
#[test]
fn comparison_modes_apply() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let code = "print('1   2\\n3.0000001')";
        let cases = vec![case("", Some("1 2 3"))];
        for (mode, want) in [
            (Comparison::Exact, Verdict::WrongAnswer),
            (Comparison::TrailingWhitespace, Verdict::WrongAnswer),
            (Comparison::Tokens, Verdict::WrongAnswer),
            (Comparison::Numbers { tolerance: 1e-3 }, Verdict::Accepted),
        ] {
            let suite = TestSuite {
                cases: cases.clone(),
                comparison: mode,
                ..Default::default()
            };
            let r = judge(&engine, "python", code, suite).await;
            assert_eq!(r.cases[0].verdict, want, "{mode:?}: {}", describe(&r));
        }
    });
}

const LEFTOVERS_C: &str = r#"#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int control = argc > 1 && !strcmp(argv[1], "control");
    if (argc > 1 && (!strcmp(argv[1], "plant") || control)) {
        FILE *f = fopen("/tmp/planted", "w"); fputs("x", f); fclose(f);
        f = fopen("/workspace/planted", "w"); fputs("x", f); fclose(f);
        f = fopen("/dev/shm/planted", "w"); if (f) { fputs("x", f); fclose(f); }
        /* The compiled program itself is replaced: the next case must get it back. */
        unlink("main"); f = fopen("main", "w"); fputs("garbage", f); fclose(f);
        if (fork() == 0) { setsid(); close(0); close(1); close(2); sleep(1000); _exit(0); }
        if (!control) { puts("planted"); return 0; }
    }
    int others = 0; char path[300], line[512];
    DIR *d = opendir("/proc"); struct dirent *e;
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        FILE *s = fopen(path, "r"); if (!s) continue;
        int mine = 0, zombie = 0; unsigned uid;
        while (fgets(line, sizeof line, s)) {
            if (sscanf(line, "Uid:\t%u", &uid) == 1 && uid == getuid()) mine = 1;
            if (!strncmp(line, "State:\tZ", 8)) zombie = 1;
        }
        fclose(s);
        others += mine && !zombie;
    }
    int tmp = !access("/tmp/planted", F_OK), ws = !access("/workspace/planted", F_OK),
        shm = !access("/dev/shm/planted", F_OK);
    if (!others && !tmp && !ws && !shm) puts("clean");
    else printf("processes=%d tmp=%d workspace=%d shm=%d\n", others, tmp, ws, shm);
    return 0;
}
"#;

/// What a case leaves (a background process, files in /tmp, /workspace and /dev/shm, a
/// replaced program) is gone when the next case starts, and the compiled program is back.
#[test]
fn leftovers_of_a_case_are_gone_in_the_next() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let with_arg = |arg: &str, want: &str| TestCase {
            args: Some(vec![arg.to_string()]),
            ..case("", Some(want))
        };
        let suite = TestSuite {
            cases: vec![
                with_arg("look", "clean"),
                // The look sees what is there: a plant in the same case is found.
                with_arg("control", "processes=1 tmp=1 workspace=1 shm=1"),
                with_arg("look", "clean"),
                with_arg("plant", "planted"),
                with_arg("look", "clean"),
                with_arg("plant", "planted"),
                with_arg("look", "clean"),
            ],
            ..Default::default()
        };
        let r = judge(&engine, "c", LEFTOVERS_C, suite).await;
        assert_eq!(r.cases.len(), 7, "{}", describe(&r));
        for c in &r.cases {
            assert_eq!(c.verdict, Verdict::Accepted, "{}", describe(&r));
        }
    });
}

/// A hostile program hunts, in every case, for other cases' inputs and for any expected
/// output: in /proc of every process it can see (init, the agent, leftovers of earlier
/// cases), its environment, and the writable places, where each case also plants its own
/// input for the next to find, beside a background process that carries it. It finds
/// nothing.
#[test]
fn a_case_learns_nothing_of_other_cases_or_expected_outputs() {
    const HUNTER: &str = r#"
import os, re, subprocess, sys
given = sys.stdin.read().split()
own = given[0]
if "CONTROL" in given:
    # The hunt finds what is there: a foreign token planted before it is found.
    with open("/tmp/control", "w") as f:
        f.write("SECRET-" + str(99))  # not in this source, which is in /workspace
pattern = re.compile(rb"(SECRET|EXPECTED)-[0-9]+")
found = set()
def scan(data):
    for m in pattern.finditer(data):
        token = m.group(0).decode()
        if token != own:
            found.add(token)
def read(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            scan(os.read(fd, 1 << 20))
        finally:
            os.close(fd)
    except OSError:
        pass
me = str(os.getpid())
for pid in [p for p in os.listdir("/proc") if p.isdigit() and p != me]:
    for name in ["cmdline", "environ", "status", "maps", "stat", "io", "mem", "auxv"]:
        read(f"/proc/{pid}/{name}")
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            read(f"/proc/{pid}/fd/{fd}")
    except OSError:
        pass
scan(repr(dict(os.environ)).encode())
read("/proc/sysvipc/shm")
for top in ["/tmp", "/workspace", "/dev/shm", "/dev/mqueue", "/var/tmp"]:
    for root, dirs, files in os.walk(top):
        for f in files:
            read(os.path.join(root, f))
# Leave this case's input behind for the next case to find.
for place in ["/tmp/leak", "/workspace/leak", "/dev/shm/leak"]:
    try:
        with open(place, "w") as f:
            f.write(own)
    except OSError:
        pass
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", own],
                 start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(" ".join(sorted(found)) or "nothing")
"#;
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let mut cases: Vec<TestCase> = (0..6)
            .map(|i| case(&format!("SECRET-{i}\n"), Some(&format!("EXPECTED-{i}"))))
            .collect();
        cases[2].stdin = "SECRET-2 CONTROL\n".into();
        let suite = TestSuite {
            cases,
            ..Default::default()
        };
        let r = judge(&engine, "python", HUNTER, suite).await;
        assert_eq!(r.cases.len(), 6, "{}", describe(&r));
        for c in &r.cases {
            let want = if c.index == 2 {
                "SECRET-99\n"
            } else {
                "nothing\n"
            };
            assert_eq!(text(&c.stdout), want, "{}", describe(&r));
            assert_eq!(
                c.verdict,
                Verdict::WrongAnswer,
                "it cannot print what it never sees"
            );
        }
    });
}
