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

// The newest prompt window that lists a linked phone with this name.
async function promptListing(name) {
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    for (const t of browser.targets()) {
      if (seen.has(t) || !t.url().includes("/prompt.html")) continue;
      const p = await t.page().catch(() => null);
      const listed = p && (await p.evaluate((n) => !document.getElementById("devices-box").hidden && [...document.querySelectorAll("#devices button")].some((b) => b.textContent === n), name).catch(() => false));
      if (listed) {
        seen.add(t);
        return p;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const texts = [];
  for (const t of browser.targets()) {
    const p = t.url().includes("/prompt.html") && (await t.page().catch(() => null));
    if (p) texts.push(await p.evaluate(() => document.body.innerText).catch((e) => String(e)));
  }
  assert.fail(`no prompt window listed "${name}" within 15 s; windows: ${JSON.stringify(texts)}; cabled: ${rig.devices()}`);
}

test("a phone that remembers this computer is reached without a scan, picked in the window, or woken once it is on", async () => {
  // Registering, the phone offers to remember this computer; cabled keeps the link.
  const registered = page.evaluate(() => window.register());
  const { url } = await qrFromPromptWindow("register-linking");
  const phone = rig.phone(url, ["--name", "Test phone"]);
  assert.deepEqual(await registered, { verified: true });
  assert.equal(await phone.done, 0, phone.output);
  assert.equal((await phone.report).update_sent, true, phone.output);

  // Later the phone is in a pocket, reachable through the tunnel server's wake-up: cabled
  // contacts it by itself while the window shows it.
  const pocket = rig.linkedPhone(["--answer-after", "1"]);
  await pocket.registered;
  const signedIn = page.evaluate(() => window.signIn());
  const first = await promptListing("Test phone");
  assert.deepEqual(await signedIn, { verified: true });
  assert.equal(await pocket.done, 0, pocket.output);
  assert.equal(lastJson(pocket).flow, "linked", pocket.output);
  assert.match(await first.evaluate(() => document.getElementById("stages").innerText), /Contacting Test phone/);

  // The person clicks their phone in the window while cabled is still contacting it: the
  // ceremony starts again for that phone alone (the first contact is told to stop).
  const awake = rig.linkedPhone(["--answer-after", "2"], { once: false });
  await awake.registered;
  const again = page.evaluate(() => window.signIn());
  const prompt = await promptListing("Test phone");
  await stageShown(prompt, "Contacting Test phone");
  await prompt.screenshot({ path: join(shots, "cable-chromium-linked.png") });
  await prompt.evaluate(() => [...document.querySelectorAll("#devices button")].find((b) => b.textContent === "Test phone").click());
  await stageShown(prompt, "Contacting the phone you picked");
  assert.deepEqual(await again, { verified: true });
  const sessions = () => awake.stdoutText.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.event === "session_finished").map((e) => e.report);
  for (let i = 0; i < 50 && sessions().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  const [dropped, picked] = sessions();
  assert.equal(dropped?.end.kind, "desktop_shutdown", awake.output);
  assert.equal(dropped.requests[0]?.status, undefined, awake.output);
  assert.equal(picked?.requests[0].status.code, 0, awake.output);
  awake.kill("SIGTERM");
  await awake.done;

  // The phone is off when the next sign-in begins. Turned on, it gets the wake-up the tunnel
  // server held for it, as a push service does, and answers: nothing to click, nothing forgotten.
  const third = page.evaluate(() => window.signIn());
  const waiting = await promptListing("Test phone");
  await stageShown(waiting, "Contacting Test phone");
  const late = rig.linkedPhone();
  await late.registered;
  assert.deepEqual(await third, { verified: true });
  assert.equal(await late.done, 0, late.output);
  assert.equal(lastJson(late).flow, "linked", late.output);
  assert.match(rig.devices(), /Test phone/);
});

// The phone's report: its last line of output.
const lastJson = (p) => JSON.parse(p.stdoutText.trim().split("\n").pop());

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

// Waits until the prompt window shows a stage (the daemon's session events as they happen).
async function stageShown(prompt, words) {
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    const text = await prompt.evaluate(() => document.getElementById("stages").innerText);
    if (text.includes(words)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the prompt never showed "${words}"`);
}

test("a second call while one runs is refused; an abort from the page reaches the phone", async () => {
  const t0 = Date.now();
  const first = page.evaluate(() => {
    window.ctl = new AbortController();
    return navigator.credentials
      .create({ signal: window.ctl.signal, publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } })
      .then(() => "resolved", (e) => e.name);
  });
  const { url, prompt } = await qrFromPromptWindow("abort");
  // A person who takes their time on the phone's prompt; the page gives up first.
  const phone = rig.phone(url, ["--no-link", "--answer-after", "60"]);
  await stageShown(prompt, "Confirm on your phone");
  assert.match(await tryCreate({}), /^NotAllowedError: A request is already pending/);
  await page.evaluate(() => window.ctl.abort());
  assert.equal(await first, "AbortError");
  // The phone was told: the desktop ended the session and no answer went out.
  assert.equal(await phone.done, 0, phone.output);
  const report = await phone.report;
  assert.equal(report.end.kind, "desktop_shutdown", JSON.stringify(report));
  assert.equal(report.requests[0].command, "authenticatorMakeCredential");
  assert.equal(report.requests[0].status, undefined, JSON.stringify(report));
  // The abort reached cabled: the session ended as cancelled, not left waiting for a phone.
  let newest;
  for (let i = 0; i < 50; i++) {
    newest = rig.history().find((s) => s.started_unix_ms >= t0);
    if (newest) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(newest?.outcome, "cancelled", JSON.stringify(newest));
});

test("Cancel in the window is a NotAllowedError, as the browser's own dialog gives, and ends the session", async () => {
  const t0 = Date.now();
  const created = page.evaluate(() =>
    navigator.credentials
      .create({ publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } })
      .then(() => "resolved", (e) => e.name),
  );
  const { prompt } = await qrFromPromptWindow("cancel");
  // The window closes as the click is handled, so the click's own reply may never come.
  await prompt.evaluate(() => document.getElementById("cancel").click()).catch(() => {});
  assert.equal(await created, "NotAllowedError");
  let newest;
  for (let i = 0; i < 50 && !newest; i++) {
    newest = rig.history().find((s) => s.started_unix_ms >= t0);
    if (!newest) await new Promise((r) => setTimeout(r, 100));
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

test("a page that skips page.js and posts deep, cyclic or shared options to the bridge is refused", async () => {
  const answers = await page.evaluate(() => {
    const ask = (id, options) => new Promise((ok) => {
      window.addEventListener("message", (ev) => {
        if (ev.data && ev.data.dir === "to-page" && ev.data.id === id) ok(ev.data.error ? ev.data.error.name + ": " + ev.data.error.message : "answered");
      });
      window.postMessage({ channel: "cable-hybrid", dir: "to-ext", id, type: "ceremony", kind: "create", options }, "*");
    });
    let deep = {};
    for (let i = 0; i < 200; i++) deep = { a: deep };
    const cyclic = { rp: { name: "x" } };
    cyclic.rp.self = cyclic;
    // One object shared a thousand times per level: serialising it would never end.
    const shared = { rp: { name: "x" } };
    let level = shared;
    for (let i = 0; i < 12; i++) {
      const next = {};
      for (let k = 0; k < 1000; k++) level[`k${k}`] = next;
      level = next;
    }
    return Promise.all([ask("deep", { rp: { name: "x" }, user: deep }), ask("cyclic", cyclic), ask("shared", shared)]);
  });
  for (const a of answers) assert.match(a, /^NotAllowedError: The request's options (are nested too deeply|cannot be read)/);
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
    newest = rig.history().find((s) => s.started_unix_ms >= t0);
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

test("a cross-origin iframe the page allows signs its origin and the top origin into clientDataJSON", async () => {
  const other = rp.url.replace("localhost", "frame.localhost");
  await page.evaluate((src) => new Promise((ok) => {
    const f = document.createElement("iframe");
    f.allow = "publickey-credentials-create";
    f.src = `${src}/frame`;
    f.onload = ok;
    document.body.append(f);
  }), other);
  const frame = page.frames().find((f) => f.url().startsWith(other));
  const created = frame.evaluate(async () => {
    const c = await navigator.credentials.create({ publicKey: { rp: { name: "x" }, user: { id: new Uint8Array(8), name: "a", displayName: "A" }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: "public-key", alg: -7 }] } });
    return new TextDecoder().decode(c.response.clientDataJSON);
  });
  const { url } = await qrFromPromptWindow("iframe");
  const phone = rig.phone(url, ["--no-link"]);
  const clientData = JSON.parse(await created);
  assert.equal(await phone.done, 0, phone.output);
  assert.equal(clientData.type, "webauthn.create");
  assert.equal(clientData.origin, other);
  assert.equal(clientData.crossOrigin, true);
  assert.equal(clientData.topOrigin, rp.url);
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
