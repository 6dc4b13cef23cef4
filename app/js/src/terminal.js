// warmrun terminal pane: xterm.js plus a small line discipline, bundled by
// esbuild (app/js/build.mjs) into <site>/pkg/js/terminal.js, which
// app/js/loader.js imports at run time.
//
// Modes:
//  - "off":    no program runs; keystrokes are ignored.
//  - "cooked": like a terminal in canonical mode: typed characters are echoed
//              locally, Backspace erases, Ctrl+U kills the line, Enter sends the
//              line (with "\n") to onInput, Ctrl+D sends the pending text or,
//              on an empty line, end of input (onEof); Ctrl+C calls onInterrupt.
//  - "raw":    (tty runs) every keystroke goes to onInput unchanged; the
//              program's pseudo-terminal does echo and line editing.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";

const LIGHT = {
  background: "#ffffff", foreground: "#1f2328", cursor: "#1f2328",
  selectionBackground: "#b6d6fd",
  black: "#24292f", red: "#cf222e", green: "#116329", yellow: "#9a6700",
  blue: "#0969da", magenta: "#8250df", cyan: "#1b7c83", white: "#6e7781",
  brightBlack: "#57606a", brightRed: "#a40e26", brightGreen: "#1a7f37",
  brightYellow: "#633c01", brightBlue: "#218bff", brightMagenta: "#a475f9",
  brightCyan: "#3192aa", brightWhite: "#8c959f",
};
const DARK = {
  background: "#0d1117", foreground: "#e6edf3", cursor: "#e6edf3",
  selectionBackground: "#264f78",
  black: "#484f58", red: "#ff7b72", green: "#3fb950", yellow: "#d29922",
  blue: "#58a6ff", magenta: "#bc8cff", cyan: "#39c5cf", white: "#b1bac4",
  brightBlack: "#6e7681", brightRed: "#ffa198", brightGreen: "#56d364",
  brightYellow: "#e3b341", brightBlue: "#79c0ff", brightMagenta: "#d2a8ff",
  brightCyan: "#56d4dd", brightWhite: "#f0f6fc",
};

const SGR_ERR = "\x1b[31m";
const SGR_INFO = "\x1b[2;3m";
const SGR_RESET = "\x1b[0m";

/**
 * Mounts a terminal into `parent`.
 * @param {HTMLElement} parent
 * @param {(data: string) => void} onInput  stdin text (a line in cooked mode, keystrokes in raw mode)
 * @param {() => void} onEof               Ctrl+D on an empty line (cooked mode)
 * @param {() => void} onInterrupt         Ctrl+C (cooked mode)
 * @param {(cols: number, rows: number) => void} onResize
 */
export function createTerminal(parent, onInput, onEof, onInterrupt, onResize) {
  const query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  // The playground's settings (app/src/settings.rs): attributes of <html>, and a
  // "warmrun-settings" event on document when they change.
  const root = document.documentElement;
  // A widget (app/js/embed.js) sets data-theme on its own element: the nearest one counts.
  const isDark = () => {
    const theme = (parent.closest("[data-theme]") || root).getAttribute("data-theme");
    if (theme === "dark" || theme === "light") return theme === "dark";
    return !!(query && query.matches);
  };
  const fontSize = () => {
    const n = Number(root.getAttribute("data-font-size"));
    return n >= 8 && n <= 32 ? n : 14;
  };
  const term = new Terminal({
    convertEol: true,
    cursorBlink: true,
    cursorInactiveStyle: "outline",
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace",
    fontSize: fontSize(),
    scrollback: 5000,
    theme: isDark() ? DARK : LIGHT,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(parent);

  let mode = "off";
  let line = "";
  let atLineStart = true;

  const write = (s) => {
    if (!s) return;
    term.write(s);
    atLineStart = s.endsWith("\n");
  };

  const cooked = (data) => {
    if (data.startsWith("\x1b")) return; // arrows, function keys: no line editing beyond backspace
    for (const ch of data) {
      switch (ch) {
        case "\r":
        case "\n": {
          const text = line + "\n";
          line = "";
          write("\r\n");
          onInput(text);
          break;
        }
        case "\x7f":
        case "\b":
          if (line.length > 0) {
            const chars = Array.from(line);
            chars.pop();
            line = chars.join("");
            term.write("\b \b");
          }
          break;
        case "\x15": // Ctrl+U
          while (line.length > 0) {
            const chars = Array.from(line);
            chars.pop();
            line = chars.join("");
            term.write("\b \b");
          }
          break;
        case "\x03": // Ctrl+C
          line = "";
          write("^C\r\n");
          onInterrupt();
          return;
        case "\x04": // Ctrl+D
          if (line.length > 0) {
            const text = line;
            line = "";
            onInput(text);
          } else {
            onEof();
          }
          break;
        default:
          if (ch >= " " || ch === "\t") {
            line += ch;
            term.write(ch);
            atLineStart = false;
          }
      }
    }
  };

  term.onData((data) => {
    if (mode === "raw") onInput(data);
    else if (mode === "cooked") cooked(data);
  });
  term.onResize(({ cols, rows }) => onResize(cols, rows));

  const refit = () => {
    try {
      if (parent.clientWidth > 0 && parent.clientHeight > 0) fit.fit();
    } catch (_) { /* not laid out yet */ }
  };
  const observer = typeof ResizeObserver !== "undefined" ? new ResizeObserver(refit) : null;
  if (observer) observer.observe(parent);
  refit();

  const onScheme = () => { term.options.theme = isDark() ? DARK : LIGHT; };
  if (query) query.addEventListener("change", onScheme);
  const onSettings = () => {
    onScheme();
    if (term.options.fontSize !== fontSize()) {
      term.options.fontSize = fontSize();
      refit();
    }
  };
  document.addEventListener("warmrun-settings", onSettings);

  return {
    term,
    /** Program output (stdout). */
    write,
    /** Program error output (stderr), shown in red. */
    writeErr(s) {
      if (!s) return;
      term.write(SGR_ERR + s + SGR_RESET);
      atLineStart = s.endsWith("\n");
    },
    /** A message from the playground itself (dim, italic), on its own line. */
    writeInfo(s) {
      const pre = atLineStart ? "" : "\r\n";
      term.write(pre + SGR_INFO + s + SGR_RESET + "\r\n");
      atLineStart = true;
    },
    clear() {
      term.reset();
      line = "";
      atLineStart = true;
    },
    /** "off" | "cooked" | "raw" */
    setMode(m) {
      mode = m;
      line = "";
      // The cursor shows only while a program can take input.
      term.write(m === "off" ? "\x1b[?25l" : "\x1b[?25h");
    },
    mode: () => mode,
    fit: refit,
    focus: () => term.focus(),
    cols: () => term.cols,
    rows: () => term.rows,
    /** Everything on screen and in scrollback, as text (for tests and copying). */
    text() {
      const buf = term.buffer.active;
      const out = [];
      for (let i = 0; i < buf.length; i++) {
        const l = buf.getLine(i);
        if (l) out.push(l.translateToString(true));
      }
      while (out.length && out[out.length - 1] === "") out.pop();
      return out.join("\n");
    },
    destroy() {
      if (observer) observer.disconnect();
      if (query) query.removeEventListener("change", onScheme);
      document.removeEventListener("warmrun-settings", onSettings);
      term.dispose();
    },
  };
}
