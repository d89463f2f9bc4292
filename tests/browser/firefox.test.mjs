// cable's extension in real Firefox ESR (which has no hybrid transport of its own), in a real
// window on a virtual X server: a site using @simplewebauthn registers and signs in through
// the extension, the native host and cabled; the software phone reads the QR code off a
// screenshot of the screen, as a phone camera would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { Rig, EXTENSION, decodeQr } from "./rig.mjs";
import { startRp } from "./rp.mjs";

let rig, rp, browser, page, xvfb, display;
const shots = process.env.CABLE_SHOTS ?? "/tmp";

before(async () => {
  let n = 300 + (process.pid % 300);
  while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) n++;
  display = `:${n}`;
  xvfb = spawn("Xvfb", [display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], { stdio: "ignore" });
  for (let i = 0; i < 100 && !existsSync(`/tmp/.X11-unix/X${n}`); i++) await new Promise((r) => setTimeout(r, 100));
  rig = new Rig();
  await rig.start();
  rp = await startRp();
  const home = join(rig.dir, "home");
  mkdirSync(home);
  rig.installHost(join(home, ".mozilla", "native-messaging-hosts"), "firefox");
  browser = await puppeteer.launch({ browser: "firefox", executablePath: process.env.FIREFOX ?? "/usr/bin/firefox-esr", headless: false, env: { ...rig.env, HOME: home, DISPLAY: display } });
  assert.equal(await browser.installExtension(EXTENSION), "cable@cable-hybrid.invalid");
  page = await browser.newPage();
  await page.goto(rp.url);
});

after(async () => {
  await browser?.close();
  rp?.server.close();
  await rig?.stop();
  xvfb?.kill();
});

// Screenshots the whole screen until a QR code decodes in it (the prompt window is drawn).
async function qrFromScreen(name) {
  const file = join(shots, `cable-firefox-${name}.png`);
  for (let i = 0; i < 60; i++) {
    execFileSync("import", ["-display", display, "-window", "root", file]);
    try {
      return decodeQr(file);
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  assert.fail(`no QR code on the screen within 15 s (last screenshot: ${file})`);
}

test("a registration and a sign-in in Firefox through the extension, the host and cabled", async () => {
  const registered = page.evaluate(() => window.register());
  const url = await qrFromScreen("register");
  assert.match(url, /^FIDO:\/[0-9]+$/);
  const phone = rig.phone(url, ["--no-link"]);
  assert.deepEqual(await registered, { verified: true });
  assert.equal(await phone.done, 0, phone.output);
  await new Promise((r) => setTimeout(r, 2000)); // the finished prompt window closes

  const signedIn = page.evaluate(() => window.signIn());
  const second = await qrFromScreen("sign-in");
  assert.notEqual(second, url);
  const phone2 = rig.phone(second, ["--no-link"]);
  assert.deepEqual(await signedIn, { verified: true });
  assert.equal(await phone2.done, 0, phone2.output);
});

test("a public-suffix rp.id is a SecurityError in Firefox too", async () => {
  const out = await page.evaluate(async () => {
    try {
      await navigator.credentials.create({ publicKey: { rp: { name: "x", id: "com" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } });
      return "resolved";
    } catch (e) {
      return e.name;
    }
  });
  assert.equal(out, "SecurityError");
});
