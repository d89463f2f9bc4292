// The processes a browser test runs against, all on loopback: cable's tunnel server, cabled on
// the UDP virtual radio, and the software phone that answers a QR code. Binaries come from
// CABLE_BIN (default: the workspace's target/debug), built by scripts/test-browser.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";

export const BIN = resolve(process.env.CABLE_BIN ?? new URL("../../target/debug", import.meta.url).pathname);
export const EXTENSION = new URL("../../browser/extension", import.meta.url).pathname;

export async function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitFor(what, check, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export class Rig {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "cable-browser-"));
    this.procs = [];
    this.runtime = join(this.dir, "run");
    mkdirSync(join(this.runtime, "cable"), { recursive: true, mode: 0o700 });
    this.socket = join(this.runtime, "cable", "cabled.sock");
    this.env = { ...process.env, XDG_RUNTIME_DIR: this.runtime, XDG_STATE_HOME: join(this.dir, "state"), XDG_DATA_HOME: join(this.dir, "data"), XDG_CONFIG_HOME: join(this.dir, "config"), CABLE_SOCKET: this.socket, RUST_LOG: "info" };
  }

  spawn(name, args) {
    const p = spawn(join(BIN, name), args, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    p.output = "";
    p.stdoutText = "";
    p.stdout.on("data", (d) => ((p.output += d), (p.stdoutText += d)));
    p.stderr.on("data", (d) => (p.output += d));
    this.procs.push(p);
    return p;
  }

  async start() {
    this.tunnelPort = await freePort();
    this.radioPort = await freePort();
    this.tunnelUrl = `ws://127.0.0.1:${this.tunnelPort}`;
    this.spawn("cablectl", ["tunnel", "serve", "--listen", `127.0.0.1:${this.tunnelPort}`]);
    await this.startDaemon();
  }

  async startDaemon() {
    this.daemon = this.spawn("cabled", ["--socket", this.socket, "--tunnel-url", this.tunnelUrl, "--radio", `udp:127.0.0.1:${this.radioPort}`]);
    await waitFor("cabled's socket", () => existsSync(this.socket));
  }

  stopDaemon() {
    this.daemon.kill("SIGTERM");
    return new Promise((r) => this.daemon.once("exit", r));
  }

  // The native host's manifest, as a person installs it: `cablectl browser install`.
  installHost(folder, kind) {
    execFileSync(join(BIN, "cablectl"), ["browser", "install", `--${kind}-dir`, folder, "--host", join(BIN, "cable-browser-host")], { env: this.env, stdio: "pipe" });
  }

  // The software phone answers the QR code the test read off the screen.
  phone(qr, extra = []) {
    const p = this.spawn("cablectl", ["phone", "--qr", qr, "--tunnel-url", this.tunnelUrl, "--radio", `127.0.0.1:${this.radioPort}`, "--store", join(this.dir, "phone.json"), "--json", ...extra]);
    p.done = new Promise((r) => p.once("exit", (code) => r(code)));
    // The phone's JSON report (its last line of standard output).
    p.report = p.done.then(() => JSON.parse(p.stdoutText.trim().split("\n").pop()));
    return p;
  }

  // The software phone as a linked phone in a pocket: registered with the tunnel server, it
  // waits to be woken by a computer it remembers, answers (once, then exits, by default).
  linkedPhone(extra = [], { once = true } = {}) {
    const p = this.spawn("cablectl", ["phone", "--linked", ...(once ? ["--once"] : []), "--tunnel-url", this.tunnelUrl, "--radio", `127.0.0.1:${this.radioPort}`, "--store", join(this.dir, "phone.json"), "--json", ...extra]);
    p.done = new Promise((r) => p.once("exit", (code) => r(code)));
    p.registered = waitFor("the linked phone's registration", () => p.stdoutText.includes('"event":"registered"'));
    return p;
  }

  // The phones cabled remembers (`cablectl devices list --json`), as text.
  devices() {
    return execFileSync(join(BIN, "cablectl"), ["devices", "list", "--json"], { env: this.env, stdio: "pipe" }).toString();
  }

  // cabled's recorded sessions (`cablectl history --json`), newest first.
  history() {
    const out = execFileSync(join(BIN, "cablectl"), ["history", "--json"], { env: this.env, stdio: "pipe" }).toString();
    return JSON.parse(out);
  }

  async stop() {
    for (const p of this.procs) if (p.exitCode === null) p.kill("SIGTERM");
  }
}

// Reads the QR code off a screenshot, as a phone camera would (zbarimg, from scripts/setup-gui).
export function decodeQr(png) {
  return execFileSync("zbarimg", ["--raw", "-q", png]).toString().trim();
}
