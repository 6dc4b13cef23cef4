// End-to-end test of plots and files in the playground: a matplotlib program's figure
// appears as an image under the output, an SVG as an <img> too (never inline markup), and
// other files as download links. Needs a server whose python image has matplotlib.
//
//   WARMRUN_URL=http://127.0.0.1:8080 node --test scripts/e2e/artifacts.test.mjs
//
// Screenshot: ${WARMRUN_ARTIFACTS:-/tmp/warmrun-artifacts}/artifacts-plot.png
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  ARTIFACTS, BASE, RUN_TIMEOUT, clickRun, launch, openPage, pasteCode, selectLanguage,
  waitForTerminal, waitForVerdict,
} from "./lib.mjs";

let chromium;
let page;
const pageErrors = [];

const PLOT = `import matplotlib.pyplot as plt
import numpy as np
x = np.linspace(0, 2 * np.pi, 200)
plt.plot(x, np.sin(x), label="sin")
plt.plot(x, np.cos(x), label="cos")
plt.legend()
plt.title("e2e plot")
plt.savefig("/workspace/output/waves.svg")
plt.show()
with open("/workspace/output/data.csv", "w") as f:
    f.write("x,y\\n1,2\\n")
print("plotted")
`;

before(async () => {
  chromium = await launch();
  page = await openPage(chromium.browser, `${BASE}/`, pageErrors);
});

after(async () => {
  if (chromium) await chromium.close();
});

describe("plots and files", () => {
  it("shows a matplotlib figure under the output and offers other files for download", async () => {
    await selectLanguage(page, "python");
    await pasteCode(page, PLOT);
    await clickRun(page);
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "plotted");
    await page.waitForSelector('.wr-artifacts img[data-artifact="figure-1.png"]', { timeout: RUN_TIMEOUT });
    // The browser decoded it: matplotlib's default 640 × 480 figure.
    await page.waitForFunction(
      () => document.querySelector('.wr-artifacts img[data-artifact="figure-1.png"]').naturalWidth > 0,
      { timeout: 10_000 },
    );
    const png = await page.$eval('.wr-artifacts img[data-artifact="figure-1.png"]', (img) => ({
      w: img.naturalWidth, h: img.naturalHeight, src: img.src.slice(0, 22),
    }));
    assert.deepEqual(png, { w: 640, h: 480, src: "data:image/png;base64," });
    // The SVG is an image too, never inline markup in the page.
    const svg = await page.$eval('.wr-artifacts img[data-artifact="waves.svg"]', (img) => img.src.slice(0, 26));
    assert.equal(svg, "data:image/svg+xml;base64,");
    assert.equal(await page.$$eval(".wr-artifacts svg", (els) => els.length), 0);
    // Other files: a download link with the file's name.
    const csv = await page.$eval('.wr-artifacts a[data-artifact="data.csv"]', (a) => ({
      download: a.getAttribute("download"), href: a.href.slice(0, 21), text: a.textContent,
    }));
    assert.deepEqual(csv, { download: "data.csv", href: "data:text/csv;base64,", text: "data.csv (8 B)" });
    await page.$eval(".wr-artifacts", (el) => el.scrollIntoView());
    await page.screenshot({ path: path.join(ARTIFACTS, "artifacts-plot.png"), fullPage: true });
  });

  it("a new run clears the previous run's files", async () => {
    await pasteCode(page, 'print("no files")\n');
    await clickRun(page);
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "no files");
    assert.equal(await page.$$eval(".wr-artifact", (els) => els.length), 0);
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
