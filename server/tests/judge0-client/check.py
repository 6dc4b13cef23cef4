"""Uses the unmodified official Judge0 Python SDK (`judge0` on PyPI) against a warmrun
server's /judge0 API, as an app written for a self-hosted Judge0 CE would. Prints one JSON
line per check and a summary; exits non-zero on a failure."""

import json
import os
import sys

import judge0
from judge0 import Status, Submission

failures = []
passed = 0


def check(name, ok, detail=None):
    global passed
    print(json.dumps({"name": name, "ok": bool(ok), "detail": str(detail)[:2000]}))
    if ok:
        passed += 1
    else:
        failures.append(name)


# The constructor reads /languages and /config_info; `version` reads /about.
client = judge0.Client(os.environ["WARMRUN_URL"] + "/judge0")
check("languages list python 3", any(l.id == 71 for l in client.languages), client.languages)
check("about says 1.13.1", client.version == "1.13.1", client.version)
check("config batch size", client.config.max_submission_batch_size == 20, client.config)
check("14 statuses", len(client.get_statuses()) == 14, client.get_statuses())

# A sync run: one submission, created with wait=false and polled until done.
hello = judge0.run(client=client, source_code='print("hi")', language=judge0.PYTHON)
check(
    "python hello accepted",
    hello.status == Status.ACCEPTED and hello.stdout == "hi\n" and hello.token is not None,
    hello,
)
check("time and memory read", hello.time is not None and hello.memory is not None, hello)
check("created and finished", hello.created_at is not None and hello.finished_at is not None, hello)

# Test cases: two submissions, created and polled as a batch.
cases = judge0.execute(
    client=client,
    source_code="print(input() * 2)",
    language=71,
    test_cases=[("a", "aa"), ("b", "nope")],
)
check(
    "test cases: accepted then wrong answer",
    [c.status for c in cases] == [Status.ACCEPTED, Status.WRONG_ANSWER]
    and [c.stdout for c in cases] == ["aa\n", "bb\n"],
    cases,
)

# Async: created at once, waited for later.
pending = judge0.async_execute(
    client=client, source_code='read x; echo "got $x"', language=judge0.BASH, stdin="abc"
)
check("async returns a token", pending.token is not None and not pending.is_done(), pending)
done = judge0.wait(client=client, submissions=pending)
check("async bash stdin", done.status == Status.ACCEPTED and done.stdout == "got abc\n", done)

bad_c = judge0.run(client=client, source_code="int main( {", language=judge0.C)
check(
    "c compile error",
    bad_c.status == Status.COMPILATION_ERROR and "error" in (bad_c.compile_output or ""),
    bad_c,
)

nzec = judge0.run(client=client, source_code="raise SystemExit(3)", language=71)
check("nzec", nzec.status == Status.RUNTIME_ERROR_NZEC and nzec.exit_code == 3, nzec)

slow = judge0.run(
    client=client,
    submissions=Submission(
        source_code="while True: pass", language=71, cpu_time_limit=0.5, wall_time_limit=1
    ),
)
check("time limit", slow.status == Status.TIME_LIMIT_EXCEEDED, slow)

total = passed + len(failures)
if failures:
    print(f"judge0 SDK checks failed: {', '.join(failures)}", file=sys.stderr)
print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
