// cable's extension in real (headless) Chromium: a site using @simplewebauthn registers and
// signs in through the extension, the native host and cabled; the software phone reads the QR
// code off a screenshot of the extension's prompt window.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { Rig, EXTENSION, decodeQr } from "./rig.mjs";
import { startRp } from "./rp.mjs";

let rig, rp, browser, page;
const shots = process.env.CABLE_SHOTS ?? "/tmp";

before(async () => {
  rig = new Rig();
  await rig.start();
  rp = await startRp();
  const profile = join(rig.dir, "chromium");
  rig.installHost(join(profile, "NativeMessagingHosts"), "chromium");
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    pipe: true,
    enableExtensions: [EXTENSION],
    userDataDir: profile,
    env: rig.env,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
  page = await browser.newPage();
  await page.goto(rp.url);
});

after(async () => {
  await browser?.close();
  rp?.server.close();
  await rig?.stop();
});

// Waits for the prompt window, takes its screenshot and decodes the QR code in it.
// The newest prompt window that shows a QR code (earlier ceremonies' windows may still be
// closing).
const seen = new Set();
async function qrFromPromptWindow(name) {
  const end = Date.now() + 15000;
  let prompt = null;
  while (!prompt && Date.now() < end) {
    for (const t of browser.targets()) {
      if (seen.has(t) || !t.url().includes("/prompt.html")) continue;
      const p = await t.page().catch(() => null);
      const ready = p && (await p.evaluate(() => !document.getElementById("qr-box").hidden && document.getElementById("qr").complete && document.getElementById("qr").naturalWidth > 0).catch(() => false));
      if (ready) {
        seen.add(t);
        prompt = p;
        break;
      }
    }
    if (!prompt) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(prompt, "no prompt window showed a QR code within 15 s");
  const file = join(shots, `cable-chromium-${name}.png`);
  await prompt.screenshot({ path: file });
  return { url: decodeQr(file), prompt };
}

test("a registration and a sign-in through the extension, the host and cabled", async () => {
  const registered = page.evaluate(() => window.register());
  const { url } = await qrFromPromptWindow("register");
  assert.match(url, /^FIDO:\/[0-9]+$/);
  const phone = rig.phone(url, ["--no-link"]);
  assert.deepEqual(await registered, { verified: true });
  assert.equal(await phone.done, 0, phone.output);

  const signedIn = page.evaluate(() => window.signIn());
  const second = await qrFromPromptWindow("sign-in");
  const phone2 = rig.phone(second.url, ["--no-link"]);
  assert.deepEqual(await signedIn, { verified: true });
  assert.equal(await phone2.done, 0, phone2.output);
  assert.deepEqual(rp.state.verified, ["/register/verify", "/login/verify"]);
});

// What a page's create() call with these overrides ends in: a DOMException name and message.
const tryCreate = (overrides) =>
  page.evaluate(async (o) => {
    const publicKey = { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }], ...o };
    if (o.challenge === "string") publicKey.challenge = "not bytes";
    try {
      await navigator.credentials.create({ publicKey });
      return "resolved";
    } catch (e) {
      return `${e.name}: ${e.message}`;
    }
  }, overrides);

test("a public-suffix rp.id is a SecurityError from cabled's origin rules", async () => {
  const out = await tryCreate({ rp: { name: "x", id: "com" } });
  assert.match(out, /^SecurityError: /);
});

test("wrong types are a TypeError before anything leaves the page", async () => {
  assert.match(await tryCreate({ challenge: "string" }), /^TypeError: .*challenge/);
});

test("a second call while one runs is refused; an abort from the page ends the session", async () => {
  const t0 = Date.now();
  const first = page.evaluate(() => {
    window.ctl = new AbortController();
    return navigator.credentials
      .create({ signal: window.ctl.signal, publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } })
      .then(() => "resolved", (e) => e.name);
  });
  await qrFromPromptWindow("abort");
  assert.match(await tryCreate({}), /^NotAllowedError: A request is already pending/);
  await page.evaluate(() => window.ctl.abort());
  assert.equal(await first, "AbortError");
  // The abort reached cabled: the session ended as cancelled, not left waiting for a phone.
  let newest;
  for (let i = 0; i < 50; i++) {
    newest = rig.history().find((s) => s.started_unix_ms >= t0 && s.path === "qr");
    if (newest) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(newest?.outcome, "cancelled", JSON.stringify(newest));
});

test("options of megabytes are refused, not carried", async () => {
  const out = await page.evaluate(async () => {
    try {
      await navigator.credentials.create({ publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(4 << 20), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } });
      return "resolved";
    } catch (e) {
      return `${e.name}: ${e.message}`;
    }
  });
  assert.equal(out, "NotAllowedError: The request's options are too large.");
});

test("hundreds of calls at once all settle; leaving the page cancels the one that runs", async () => {
  const t0 = Date.now();
  const names = await page.evaluate(async () => {
    const calls = Array.from({ length: 300 }, () =>
      navigator.credentials.create({ publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } }).then(() => "resolved", (e) => e.name),
    );
    setTimeout(() => {}, 0);
    return Promise.all(calls.slice(1)).then((rest) => rest);
  }).catch((e) => String(e));
  // All but the first are refused at once (one ceremony per tab); the first waits for a phone.
  assert.ok(Array.isArray(names), names);
  assert.equal(names.filter((n) => n === "NotAllowedError").length, 299);
  await qrFromPromptWindow("navigate");
  await page.goto(rp.url); // leaving the page cancels the first one
  let newest;
  for (let i = 0; i < 50 && !newest; i++) {
    newest = rig.history().find((s) => s.started_unix_ms >= t0 && s.path === "qr");
    if (!newest) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(newest?.outcome, "cancelled", JSON.stringify(newest));
});

test("a cross-origin iframe without permission is refused", async () => {
  const other = rp.url.replace("localhost", "127.0.0.1");
  await page.evaluate((src) => new Promise((ok) => {
    const f = document.createElement("iframe");
    f.src = `${src}/frame`;
    f.onload = ok;
    document.body.append(f);
  }), other);
  const frame = page.frames().find((f) => f.url().includes("/frame"));
  const out = await frame.evaluate(async () => {
    try {
      await navigator.credentials.create({ publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } });
      return "resolved";
    } catch (e) {
      return e.name;
    }
  });
  assert.equal(out, "NotAllowedError");
  await page.goto(rp.url);
});

test("with cabled down the browser's own WebAuthn answers", async () => {
  await rig.stopDaemon();
  // The browser's own path, proven by the browser's (CDP) virtual authenticator answering.
  const cdp = await page.createCDPSession();
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", { options: { protocol: "ctap2", transport: "usb", hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
  const result = await page.evaluate(() => window.register());
  assert.deepEqual(result, { verified: true });
  await rig.startDaemon();
});

test("\"Use this browser instead\" hands the request to the browser's own WebAuthn", async () => {
  // The virtual authenticator of the previous test is still attached to this page.
  const registered = page.evaluate(() => window.register());
  const { prompt } = await qrFromPromptWindow("use-browser");
  // The window closes as the click is handled, so the click's own reply may never come.
  await prompt.evaluate(() => document.getElementById("use-browser").click()).catch(() => {});
  assert.deepEqual(await registered, { verified: true });
});
