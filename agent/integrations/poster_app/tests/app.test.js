/* The Poster app's own tests (node --test): money, the kept checks, and the five-second rule,
 * against the built bundle and a stand-in Poster whose agent is a function. */
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const S = require(path.join(__dirname, "..", "dist", "poster-app.js"));
const { makePoster } = require("./poster_standin.js");

function memoryStorage() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
}

const timers = { setTimeout, clearTimeout, setInterval: () => 0 };

function appWith(agent, settings) {
  const poster = makePoster({ request: agent });
  const storage = memoryStorage();
  storage.setItem(S.KEYS.settings, JSON.stringify(
    settings || { agentUrl: "http://192.168.1.20:8787", token: "t0ken", mode: "receipt_qr" }));
  const app = S.createApp({ poster, storage, document: null, timers });
  app.install();
  return { poster, app, storage };
}

test("totals go from major units through whole cents to an exact decimal string", () => {
  assert.equal(S.totalOf({ total: 23.5 }), "23.50");
  assert.equal(S.totalOf({ total: 0.1 + 0.2 }), "0.30");
  assert.equal(S.totalOf({ total: 86 }), "86.00");
  assert.equal(S.totalOf({ total: 1.005 * 1000 }), "1005.00");
  assert.equal(S.totalOf({ total: "12.3" }), "12.30");
  assert.equal(S.minorToDecimal(5), "0.05");
  assert.equal(S.minorToDecimal(123456789), "1234567.89");
  assert.throws(() => S.totalOf({ total: -1 }));
  assert.throws(() => S.totalOf({ total: NaN }));
  assert.throws(() => S.totalOf({}));
});

test("the order comes as {order} (the docs) or as the order itself (poster.d.ts)", () => {
  const order = { id: 1, total: 2 };
  assert.equal(S.orderOf({ order }), order);
  assert.equal(S.orderOf(order), order);
});

test("given a paid check, the agent gets it with the till, currency and exact total, and the QR is printed", async () => {
  const { poster } = appWith(async (url, options) => {
    assert.equal(url, "http://192.168.1.20:8787/v1/orders");
    assert.ok(options.localRequest);
    assert.ok(options.headers.includes("Authorization: Bearer t0ken"));
    return { code: 201, result: { order_id: options.data.order_id, claim: { url: "HTTP://C/ABC" } } };
  });
  poster.openOrder(1700000000123, [{ id: 7, count: 3, price: 0.1 }]);
  await poster.close(1700000000123);
  const [req] = poster.named("makeRequest");
  assert.deepEqual(req.args[1].data, {
    order_id: "poster-1700000000123", total: "0.30", till: "poster-1-2", currency: "EUR",
    receipt_qr: true, print: false,
  });
  assert.deepEqual(poster.named("orders.printReceipt")[0].args,
    [1700000000123, "HTTP://C/ABC", S.RECEIPT_TITLE]);
});

test("given the agent is down, the check is kept and sent once it is back, then dropped", async () => {
  let up = false;
  const seen = [];
  const { poster, app, storage } = appWith(async (url, options) => {
    seen.push(options.data.order_id);
    return up ? { code: 201, result: { order_id: options.data.order_id, claim: null } }
              : { code: 0, result: false };
  });
  poster.openOrder(42, [{ id: 1, count: 1, price: 3.2 }]);
  await poster.close(42);
  assert.equal(JSON.parse(storage.getItem(S.KEYS.outbox)).length, 1);
  assert.equal(poster.named("orders.printReceipt").length, 0);
  await app.flush();
  assert.equal(JSON.parse(storage.getItem(S.KEYS.outbox))[0].tries, 2);
  up = true;
  await app.flush();
  await app.flush();
  assert.deepEqual(JSON.parse(storage.getItem(S.KEYS.outbox)), []);
  assert.deepEqual(seen, ["poster-42", "poster-42", "poster-42"]);
});

test("a check the agent refuses for good (422) is not sent again; a 401 is kept", async () => {
  let status = 401;
  const { poster, app, storage } = appWith(async () => ({ code: status, result: { error: { message: "no" } } }));
  poster.openOrder(5, [{ id: 1, count: 1, price: 1 }]);
  await poster.close(5);
  assert.equal(JSON.parse(storage.getItem(S.KEYS.outbox)).length, 1);
  status = 422;
  await app.flush();
  assert.deepEqual(JSON.parse(storage.getItem(S.KEYS.outbox)), []);
});

test("next() comes within the budget when the agent is down, hangs, or has no quote route", async () => {
  S.BUDGET_MS = 300;
  S.QUOTE_TIMEOUT_MS = 1500; /* longer than the budget: a makeRequest that never calls back */
  try {
    for (const agent of [
      async () => ({ code: 0, result: false }),
      () => new Promise(() => {}),
      async () => ({ code: 404, result: { error: { code: "not_found" } } }),
    ]) {
      const { poster } = appWith(agent);
      poster.openOrder(9, [{ id: 1, count: 1, price: 5 }]);
      const paid = await poster.pay(9);
      assert.ok(paid.inBudget);
      assert.equal(poster.named("next").length, 1);
    }
  } finally {
    S.BUDGET_MS = 4000;
    S.QUOTE_TIMEOUT_MS = 2500;
  }
});

test("without settings nothing is asked and next() is called at once", async () => {
  const { poster } = appWith(() => { throw new Error("never"); }, { agentUrl: "" });
  poster.openOrder(3, [{ id: 1, count: 1, price: 5 }]);
  assert.ok((await poster.pay(3)).inBudget);
  assert.equal(poster.named("makeRequest").length, 0);
});

test("the app puts its icon on the order screen and in functions, and listens to the events", () => {
  const { poster } = appWith(async () => ({ code: 0, result: false }));
  assert.deepEqual(poster.named("interface.showApplicationIconAt")[0].args,
    { functions: "Stampedge", order: "Stampedge card" });
  assert.deepEqual(poster.named("on").map((c) => c.args).sort(),
    ["afterOrderClose", "applicationIconClicked", "beforeOrderClose"]);
});

test("in identified mode a check with nobody identified asks for no QR and prints nothing", async () => {
  const { poster } = appWith(async (url, options) => ({
    code: 201, result: { order_id: options.data.order_id, claim: null },
  }), { agentUrl: "http://10.0.0.2:8787", token: "", mode: "identified" });
  poster.openOrder(8, [{ id: 1, count: 1, price: 4.2 }]);
  await poster.close(8);
  const [req] = poster.named("makeRequest");
  assert.equal(req.args[1].data.receipt_qr, false);
  assert.ok(!req.args[1].headers.some((h) => h.startsWith("Authorization")));
  assert.equal(poster.named("orders.printReceipt").length, 0);
});

test("a card kept for an order goes with its check, then is forgotten", async () => {
  const { poster, app, storage } = appWith(async (url, options) => ({
    code: 201, result: { order_id: options.data.order_id, claim: null },
  }));
  poster.openOrder(11, [{ id: 1, count: 2, price: 2.5 }]);
  app.store.setCard(11, { card_code: "SC8PUTOYNXG6R5Q", number: "123456", name: "Ann" });
  await poster.close(11);
  const [req] = poster.named("makeRequest");
  assert.deepEqual(req.args[1].data.customer, { card: "SC8PUTOYNXG6R5Q" });
  assert.equal(req.args[1].data.receipt_qr, false);
  assert.deepEqual(JSON.parse(storage.getItem(S.KEYS.cards)), {});
});
