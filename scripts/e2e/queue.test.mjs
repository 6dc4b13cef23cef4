// End-to-end test of the queue position in the status line, in headless Chromium, against
// a server with a single Python container (scripts/e2e/run.sh starts one: a catalog of
// python alone with `max = 1`, on WARMRUN_QUEUE_URL). One page holds the container with a
// program waiting for input; a second page's run shows "Queued — position 1" and runs once
// the first ends.
//
//   WARMRUN_QUEUE_URL=http://127.0.0.1:18081 node --test scripts/e2e/queue.test.mjs
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  ARTIFACTS, RUN_TIMEOUT, clickRun, launch, openPage, statusText, typeCode,
  waitForTerminal, waitForVerdict,
} from "./lib.mjs";

const QUEUE_URL = (process.env.WARMRUN_QUEUE_URL || "").replace(/\/$/, "");

let chromium;
const pageErrors = [];

before(async () => {
  if (QUEUE_URL) chromium = await launch();
});

after(async () => {
  if (chromium) await chromium.close();
});

describe("queue position", { skip: !QUEUE_URL && "WARMRUN_QUEUE_URL is not set" }, () => {
  it("a run waiting for the only container shows its position, then runs", async () => {
    const holder = await openPage(chromium.browser, `${QUEUE_URL}/?lang=python`, pageErrors);
    await typeCode(holder, 'name = input("hold> ")\nprint("released", name)');
    await clickRun(holder);
    await waitForTerminal(holder, "hold>");

    const waiter = await openPage(chromium.browser, `${QUEUE_URL}/?lang=python`, pageErrors);
    await typeCode(waiter, 'print("second run")');
    await clickRun(waiter);
    try {
      await waiter.waitForFunction(
        () => /Queued — position 1\b/.test(document.querySelector(".wr-status").textContent),
        { timeout: 20_000 },
      );
    } catch (e) {
      throw new Error(`no queue position; status: ${await statusText(waiter)}`);
    }
    assert.equal(await waiter.$eval("button.wr-stop", (b) => b.disabled), false, "a queued run can be stopped");
    assert.equal(await waiter.$eval("button.wr-run", (b) => b.disabled), true);
    await waiter.screenshot({ path: path.join(ARTIFACTS, "queue-position.png") });

    // The first program ends: the container is free, the queued run goes.
    await holder.bringToFront();
    await holder.click(".wr-terminal .xterm");
    await holder.keyboard.type("now");
    await holder.keyboard.press("Enter");
    assert.equal(await waitForVerdict(holder), "ok");
    await waitForTerminal(holder, "released now");
    await holder.close();

    await waiter.bringToFront();
    assert.equal(await waitForVerdict(waiter, RUN_TIMEOUT), "ok");
    await waitForTerminal(waiter, "second run");
    assert.doesNotMatch(await statusText(waiter), /Queued/);
    await waiter.close();
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
