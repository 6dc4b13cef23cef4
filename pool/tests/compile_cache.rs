//! The compile cache on real containers: a byte-identical compile is reused (and says so),
//! anything that changes the compile is not, nothing a program writes at run time gets into
//! the cache, and judged runs reuse compiles too.

mod common;

use common::{describe, exec, request, run, text, SUM_C};
use pool::{Engine, RunResult, TestSuite, Verdict};
use warmrun_api::TestCase;

const LANGS: &[(&str, usize)] = &[("c", 1), ("java", 1)];

async fn engine() -> Engine {
    common::engine("compile-cache", LANGS).await
}

/// A program no other test (or earlier run of this one) compiled: the cache starts empty for
/// every test process, and the tests of this file run at once.
fn unique(code: &str, tag: &str) -> String {
    format!("/* {tag} {} */\n{code}", std::process::id())
}

fn cached(r: &RunResult) -> Option<bool> {
    r.compile.as_ref().map(|c| c.cached)
}

const HELLO_C: &str = r#"#include <stdio.h>
#warning "kept with the compile"
int main(void) {
    char name[64];
    if (!fgets(name, sizeof name, stdin)) return 1;
    printf("hello %s", name);
    return 0;
}
"#;

#[test]
fn an_identical_compile_is_reused_and_anything_else_compiles() {
    run(async {
        let engine = engine().await;
        let code = unique(HELLO_C, "identical");
        let first = exec(&engine, "c", &code, "Ada\n").await;
        assert_eq!(
            first.outcome.exit.verdict,
            Verdict::Ok,
            "{}",
            describe(&first)
        );
        assert_eq!(cached(&first), Some(false), "{}", describe(&first));
        let warning = text(&first.compile.as_ref().unwrap().stderr);
        assert!(warning.contains("kept with the compile"), "{warning}");
        // Kept in the background after the first run: wait until the cache has it.
        let hits = || {
            engine
                .metrics()
                .compile_cache_hits
                .with_label_values(&["c"])
                .get()
        };
        let before = hits();
        let mut second = exec(&engine, "c", &code, "Bob\n").await;
        while cached(&second) != Some(true) {
            assert!(
                hits() == before,
                "a hit that does not say so: {}",
                describe(&second)
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            second = exec(&engine, "c", &code, "Bob\n").await;
        }
        assert_eq!(
            second.outcome.exit.verdict,
            Verdict::Ok,
            "{}",
            describe(&second)
        );
        assert_eq!(text(&second.stdout), "hello Bob\n");
        let c = second.compile.as_ref().unwrap();
        assert_eq!((c.exit.verdict, c.exit.wall_ms), (Verdict::Ok, 0));
        assert_eq!(
            text(&c.stderr),
            warning,
            "the compiler's words come back with it"
        );
        assert!(hits() > before);
        assert!(engine.metrics().compile_cache_bytes.get() > 0);

        // Other options, other source, other file name: each compiles afresh.
        let mut options = request("c", &code, "Cy\n");
        options.compile_options = vec!["-O0".into()];
        let r = engine.execute(options).await.unwrap();
        assert_eq!(cached(&r), Some(false), "{}", describe(&r));
        assert_eq!(text(&r.stdout), "hello Cy\n");
        let other = code.replace("hello", "hi");
        let r = exec(&engine, "c", &other, "Di\n").await;
        assert_eq!(cached(&r), Some(false), "{}", describe(&r));
        assert_eq!(text(&r.stdout), "hi Di\n");
    });
}

/// Replaces its own binary and leaves a file behind, then says what it found: a reuse must
/// give the next run the compile's binary and workspace, not what this run left.
const SELF_REWRITING_C: &str = r##"#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
int main(void) {
    printf("binary from the compiler; left file %s\n",
           access("left.txt", F_OK) == 0 ? "found" : "absent");
    FILE *f = fopen("left.txt", "w");
    if (f) { fputs("run time\n", f); fclose(f); }
    unlink("main");
    f = fopen("main", "w");
    if (f) { fputs("#!/bin/sh\necho poisoned\n", f); fclose(f); }
    chmod("main", 0755);
    return 0;
}
"##;

#[test]
fn what_a_program_writes_at_run_time_never_reaches_the_cache() {
    run(async {
        let engine = engine().await;
        let code = unique(SELF_REWRITING_C, "self-rewriting");
        let want = "binary from the compiler; left file absent\n";
        let first = exec(&engine, "c", &code, "").await;
        assert_eq!(text(&first.stdout), want, "{}", describe(&first));
        let mut reused = false;
        for _ in 0..50 {
            let r = exec(&engine, "c", &code, "").await;
            assert_eq!(text(&r.stdout), want, "{}", describe(&r));
            if cached(&r) == Some(true) {
                reused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(reused, "the compile was never reused");
    });
}

#[test]
fn judged_runs_reuse_the_compile_for_every_case() {
    run(async {
        let engine = engine().await;
        let code = unique(SUM_C, "judged");
        let judge = || async {
            let mut req = request("c", &code, "");
            req.tests = Some(TestSuite {
                cases: (0..3)
                    .map(|i| TestCase {
                        stdin: format!("{i} {i}\n"),
                        expected_stdout: Some(format!("{}\n", 2 * i)),
                        args: None,
                    })
                    .collect(),
                ..Default::default()
            });
            engine.judge(req, &mut |_| {}).await.unwrap()
        };
        let first = judge().await;
        assert_eq!(first.outcome.exit.verdict, Verdict::Accepted, "{first:?}");
        assert_eq!(first.compile.as_ref().map(|c| c.cached), Some(false));
        let mut second = judge().await;
        for _ in 0..50 {
            if second.compile.as_ref().map(|c| c.cached) == Some(true) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            second = judge().await;
        }
        assert_eq!(
            second.compile.as_ref().map(|c| c.cached),
            Some(true),
            "{second:?}"
        );
        assert_eq!(second.outcome.exit.verdict, Verdict::Accepted, "{second:?}");
        assert_eq!(second.cases.len(), 3);
    });
}

const SHAPES_JAVA: &str = r#"import java.util.List;

public class Main {
    interface Shape { double area(); }
    record Square(double side) implements Shape { public double area() { return side * side; } }
    public static void main(String[] args) {
        List<Shape> shapes = List.of(new Square(2), () -> 1.5);
        double total = 0;
        for (Shape s : shapes) total += s.area();
        System.out.println("total " + total);
    }
}
"#;

/// Java leaves several class files (nested types): all of them come back with a reuse.
#[test]
fn java_class_files_are_reused() {
    run(async {
        let engine = engine().await;
        let code = unique(SHAPES_JAVA, "java");
        let first = exec(&engine, "java", &code, "").await;
        assert_eq!(text(&first.stdout), "total 5.5\n", "{}", describe(&first));
        let mut second = exec(&engine, "java", &code, "").await;
        for _ in 0..50 {
            if cached(&second) == Some(true) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            second = exec(&engine, "java", &code, "").await;
        }
        assert_eq!(cached(&second), Some(true), "{}", describe(&second));
        assert_eq!(text(&second.stdout), "total 5.5\n", "{}", describe(&second));
    });
}
