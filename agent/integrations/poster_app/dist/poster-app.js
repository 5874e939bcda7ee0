/* Stampedge for Poster POS. Built by scripts/build-poster-app from
 * agent/integrations/poster_app/src: edit those, not this file. */
(function (root) {
"use strict";
var S = {};

/* --- src/00_money.js --- */
/* Money: Poster's totals to the agent's exact decimal strings.
 *
 * The POS platform gives an order's `total` as a number in the currency's major units
 * (joinposter/docs en/pos/types/order.md: products at 10.5 and 17 make "total": 86;
 * poster.d.ts in joinposter/pos-platform-boilerplate: `total: number`). A binary float is
 * never sent on: the amount becomes whole minor units (cents) first, and the decimal string
 * is written from that integer, so 0.1 + 0.2 goes as "0.30" and 23.5 as "23.50".
 */
S.MINOR_DIGITS = 2;

/** Whole minor units of a major-unit amount (a number or a numeric string); NaN if not one. */
S.toMinorUnits = function (amount, digits) {
  var d = digits === undefined ? S.MINOR_DIGITS : digits;
  var value = typeof amount === "string" ? Number(amount.trim()) : amount;
  if (typeof value !== "number" || !isFinite(value) || value < 0) return NaN;
  return Math.round(value * Math.pow(10, d));
};

/** A whole number of minor units as a decimal string: 2350 -> "23.50", 5 -> "0.05". */
S.minorToDecimal = function (minor, digits) {
  var d = digits === undefined ? S.MINOR_DIGITS : digits;
  if (!Number.isSafeInteger(minor) || minor < 0) throw new Error("not a whole amount: " + minor);
  var text = String(minor);
  if (d === 0) return text;
  while (text.length <= d) text = "0" + text;
  return text.slice(0, text.length - d) + "." + text.slice(text.length - d);
};

/** The order's total as the agent's decimal string (throws if Poster gave no usable total). */
S.totalOf = function (order) {
  var minor = S.toMinorUnits(order.total);
  if (isNaN(minor)) throw new Error("the order has no usable total: " + order.total);
  return S.minorToDecimal(minor);
};

/* --- src/10_storage.js --- */
/* What the app keeps on the till (localStorage): its settings, the card identified for each
 * open order, and the paid checks the agent has not confirmed yet (sent again until it does:
 * the agent's idempotency on order_id makes a resend safe). */
S.KEYS = { settings: "stampedge.settings", cards: "stampedge.cards", outbox: "stampedge.outbox" };
S.DEFAULT_SETTINGS = { agentUrl: "", token: "", mode: "receipt_qr" };
S.MAX_OUTBOX = 500;

S.makeStore = function (storage) {
  function load(key, fallback) {
    try {
      var text = storage.getItem(key);
      return text ? JSON.parse(text) : fallback;
    } catch (err) {
      return fallback;
    }
  }
  function save(key, value) {
    try {
      storage.setItem(key, JSON.stringify(value));
    } catch (err) {
      /* a full or missing storage must never stop the till */
    }
  }
  return {
    settings: function () {
      return Object.assign({}, S.DEFAULT_SETTINGS, load(S.KEYS.settings, {}));
    },
    saveSettings: function (s) {
      save(S.KEYS.settings, {
        agentUrl: String(s.agentUrl || "").trim().replace(/\/+$/, ""),
        token: String(s.token || "").trim(),
        mode: s.mode === "identified" ? "identified" : "receipt_qr",
      });
    },
    cardFor: function (orderId) {
      return load(S.KEYS.cards, {})[String(orderId)] || null;
    },
    setCard: function (orderId, card) {
      var cards = load(S.KEYS.cards, {});
      if (card) cards[String(orderId)] = card;
      else delete cards[String(orderId)];
      save(S.KEYS.cards, cards);
    },
    outbox: function () {
      return load(S.KEYS.outbox, []);
    },
    keep: function (body) {
      var box = load(S.KEYS.outbox, []).filter(function (e) {
        return e.body.order_id !== body.order_id;
      });
      box.push({ body: body, tries: 0 });
      save(S.KEYS.outbox, box.slice(-S.MAX_OUTBOX));
    },
    drop: function (orderId) {
      save(S.KEYS.outbox, load(S.KEYS.outbox, []).filter(function (e) {
        return e.body.order_id !== orderId;
      }));
    },
    tried: function (orderId) {
      var box = load(S.KEYS.outbox, []);
      box.forEach(function (e) {
        if (e.body.order_id === orderId) e.tries += 1;
      });
      save(S.KEYS.outbox, box);
    },
  };
};

/* --- src/20_agent.js --- */
/* The agent on the shop's LAN, reached through Poster.makeRequest with localRequest: true
 * (joinposter/docs en/pos/requests/makeRequest.md: headers as "Name: value" strings, method,
 * data, timeout in ms; the callback gets {result, code}, code 0 on a timeout, 1 on bad JSON).
 * Every call settles: by Poster's callback or, if that never comes, by our own timer. */
S.makeAgent = function (poster, store, timers) {
  function call(method, path, body, timeoutMs) {
    return new Promise(function (resolve) {
      var s = store.settings();
      if (!s.agentUrl) {
        resolve({ code: 0, result: false, reason: "not_configured" });
        return;
      }
      var settled = false;
      var guard = timers.setTimeout(function () {
        finish({ code: 0, result: false, reason: "timeout" });
      }, timeoutMs + 250);
      function finish(answer) {
        if (settled) return;
        settled = true;
        timers.clearTimeout(guard);
        var a = answer || { code: 0, result: false };
        var result = a.result;
        if (typeof result === "string") {
          try {
            result = JSON.parse(result);
          } catch (err) {
            /* keep the text */
          }
        }
        resolve({ code: Number(a.code) || 0, result: result, reason: a.reason });
      }
      var headers = ["Content-Type: application/json", "Accept: application/json"];
      if (s.token) headers.push("Authorization: Bearer " + s.token);
      var options = { method: method, headers: headers, timeout: timeoutMs, localRequest: true };
      if (body !== undefined) options.data = body;
      try {
        poster.makeRequest(s.agentUrl + path, options, finish);
      } catch (err) {
        finish({ code: 0, result: false, reason: String(err) });
      }
    });
  }
  return { call: call };
};

S.ok = function (answer) {
  return answer.code >= 200 && answer.code < 300 && answer.result && typeof answer.result === "object";
};

S.errorText = function (answer) {
  if (answer.reason === "not_configured") return "Stampedge is not set up on this till (Settings).";
  if (answer.code === 0) return "The Stampedge agent does not answer.";
  var err = answer.result && answer.result.error;
  return err && err.message ? err.message : "The Stampedge agent answered " + answer.code + ".";
};

/* --- src/30_views.js --- */
/* The app's screens, drawn into its own iframe document, which Poster shows in a popup
 * (joinposter/docs en/pos/interfaces/interface-popup.md). Text from the agent is set as text,
 * never as HTML. */
S.el = function (doc, tag, attrs, children) {
  var node = doc.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k];
    else if (k === "on") node.addEventListener("click", attrs[k]);
    else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) {
    if (c) node.appendChild(c);
  });
  return node;
};

S.STYLE =
  "#stampedge{font:16px/1.4 system-ui,sans-serif;padding:12px;color:#111}" +
  "#stampedge h2{font-size:20px;margin:0 0 8px}" +
  "#stampedge button{font-size:16px;min-height:44px;margin:4px 4px 4px 0;padding:0 14px}" +
  "#stampedge input,#stampedge select{font-size:16px;min-height:40px;width:100%;box-sizing:border-box;margin:2px 0 8px}" +
  "#stampedge .big{font-size:28px;font-weight:700}" +
  "#stampedge .status{color:#333;font-weight:600;min-height:1.4em}" +
  "#stampedge ul{list-style:none;padding:0;margin:0}";

S.makeScreen = function (doc) {
  function root() {
    var node = doc.getElementById("stampedge");
    if (!node) {
      var style = doc.createElement("style");
      style.textContent = S.STYLE;
      doc.head.appendChild(style);
      node = S.el(doc, "main", { id: "stampedge" });
      doc.body.appendChild(node);
    }
    return node;
  }
  return {
    show: function (children) {
      var node = root();
      while (node.firstChild) node.removeChild(node.firstChild);
      children.forEach(function (c) {
        if (c) node.appendChild(c);
      });
      return node;
    },
    status: function (text) {
      var node = doc.getElementById("se-status");
      if (node) node.textContent = text;
    },
    el: function (tag, attrs, children) {
      return S.el(doc, tag, attrs, children);
    },
    value: function (id) {
      var node = doc.getElementById(id);
      return node ? node.value : "";
    },
  };
};

/* --- src/40_app.js --- */
/* The Stampedge app for Poster POS: identify a customer on the order screen, show the quote
 * before payment, add a ready gift, send the paid check to the agent, print the receipt QR.
 *
 * Poster calls used (joinposter/docs en/pos/...): interface.showApplicationIconAt, popup,
 * closePopup, scanBarcode, showNotification; on(applicationIconClicked | beforeOrderClose |
 * afterOrderClose); orders.addProduct, orders.printReceipt; makeRequest; settings
 * (currencyCodeIso, spotId, spotTabletId); environment (android, iOS).
 */
S.BUDGET_MS = 4000; /* Poster waits at most five seconds for next() */
S.QUOTE_TIMEOUT_MS = 2500;
S.REDEEM_TIMEOUT_MS = 2500;
S.ORDER_TIMEOUT_MS = 8000;
S.RETRY_MS = 5000;
S.RECEIPT_TITLE = "Scan for your stamps";
S.FINAL_REFUSALS = [409, 413, 422];

/* beforeOrderClose/afterOrderClose give {order} in the docs (en/pos/events/beforeOrderClose.md)
 * and the order itself in poster.d.ts: take either. */
S.orderOf = function (data) {
  return data && data.order && typeof data.order === "object" ? data.order : data;
};

/* The check's id at the agent and in the cloud: the POS order id is its opening time in ms
 * (en/pos/orders/orders-addProduct.md), which Poster's web API gives as the transaction's
 * date_start: the cloud's Poster webhook derives the same id (sync/cloud/poster_webhook.py). */
S.orderIdOf = function (order) {
  return "poster-" + String(order.id);
};

S.createApp = function (env) {
  var poster = env.poster;
  var timers = env.timers;
  var store = S.makeStore(env.storage);
  var agent = S.makeAgent(poster, store, timers);
  var screen = S.makeScreen(env.document);
  var sending = false;

  function till() {
    var s = poster.settings || {};
    return "poster-" + (s.spotId === undefined ? "0" : s.spotId) + "-" +
      (s.spotTabletId === undefined ? "0" : s.spotTabletId);
  }

  function body(order) {
    var card = store.cardFor(order.id);
    var out = { order_id: S.orderIdOf(order), total: S.totalOf(order), till: till() };
    var currency = poster.settings && poster.settings.currencyCodeIso;
    if (/^[A-Z]{3}$/.test(currency || "")) out.currency = currency;
    if (card) out.customer = { card: card.card_code };
    return out;
  }

  function notify(message) {
    try {
      var shown = poster.interface.showNotification({ title: "Stampedge", message: message, icon: "" });
      if (shown && shown.catch) shown.catch(function () {});
    } catch (err) {
      /* a notification is a courtesy */
    }
  }

  function popup(title, children, height) {
    screen.show(children);
    poster.interface.popup({ width: 520, height: height || 560, title: title });
  }

  /* Settings ------------------------------------------------------------------------------ */
  function showSettings() {
    var s = store.settings();
    var e = screen.el;
    var mode = e("select", { id: "se-mode" }, [
      e("option", { value: "receipt_qr", text: "A QR on every receipt" }),
      e("option", { value: "identified", text: "Identify the customer before payment" }),
    ]);
    mode.value = s.mode;
    popup("Stampedge settings", [
      e("h2", { text: "Stampedge settings" }),
      e("label", { for: "se-url", text: "Agent address (e.g. http://192.168.1.20:8787)" }),
      e("input", { id: "se-url", type: "url", value: s.agentUrl }),
      e("label", { for: "se-token", text: "Agent token" }),
      e("input", { id: "se-token", type: "password", value: s.token }),
      e("label", { for: "se-mode", text: "Mode" }),
      mode,
      e("button", { id: "se-save", text: "Save", on: function () {
        store.saveSettings({ agentUrl: screen.value("se-url"), token: screen.value("se-token"),
                             mode: screen.value("se-mode") });
        poster.interface.closePopup();
        flush();
      } }),
      e("p", { id: "se-status", class: "status" }),
    ]);
  }

  /* Identify ------------------------------------------------------------------------------ */
  function choose(order, c) {
    store.setCard(order.id, { card_code: c.card_code, number: c.number || null,
                              name: c.name || null, balance: c.balance, goal: c.goal });
    poster.interface.closePopup();
    notify("Card " + (c.number || c.card_code) + (c.name ? " (" + c.name + ")" : "") + " is on this order.");
  }

  function search(order, q) {
    var text = String(q || "").trim();
    if (!text) return Promise.resolve();
    screen.status("Looking up…");
    return agent.call("get", "/v1/customers?q=" + encodeURIComponent(text), undefined, S.QUOTE_TIMEOUT_MS)
      .then(function (answer) {
        if (!S.ok(answer)) {
          screen.status(S.errorText(answer));
          return;
        }
        var found = answer.result.customers || [];
        var list = env.document.getElementById("se-results");
        while (list.firstChild) list.removeChild(list.firstChild);
        if (found.length === 1 && text.toUpperCase() === String(found[0].card_code).toUpperCase()) {
          choose(order, found[0]); /* a scanned card: no second tap */
          return;
        }
        found.forEach(function (c) {
          var label = (c.number || c.card_code) + (c.name ? " · " + c.name : "") +
            (c.balance !== null && c.balance !== undefined ? " · " + c.balance + "/" + c.goal : "");
          list.appendChild(screen.el("li", {}, [screen.el("button", {
            class: "se-customer", text: label, on: function () { choose(order, c); } })]));
        });
        screen.status(found.length ? "" : "Nobody found.");
      });
  }

  function showIdentify(order) {
    var e = screen.el;
    var current = store.cardFor(order.id);
    var env_ = poster.environment || {};
    var canScan = !!(poster.interface.scanBarcode && (env_.android || env_.iOS));
    popup("Stampedge card", [
      e("h2", { text: "Whose card?" }),
      current ? e("p", { id: "se-current", text: "On this order: " + (current.number || current.card_code) +
        (current.name ? " (" + current.name + ")" : "") }) : null,
      canScan ? e("button", { id: "se-scan", text: "Scan the card", on: function () {
        Promise.resolve(poster.interface.scanBarcode()).then(function (got) {
          var code = got && typeof got === "object" ? got.barcode : got;
          if (code) return search(order, code);
        }, function () { screen.status("The camera could not read a code."); });
      } }) : null,
      e("label", { for: "se-q", text: "Card number, email or name" }),
      e("input", { id: "se-q", type: "search", autocomplete: "off" }),
      e("button", { id: "se-search", text: "Search", on: function () { search(order, screen.value("se-q")); } }),
      current ? e("button", { id: "se-clear", text: "Remove the card", on: function () {
        store.setCard(order.id, null);
        poster.interface.closePopup();
      } }) : null,
      e("ul", { id: "se-results" }),
      e("p", { id: "se-status", class: "status" }),
    ]);
  }

  function onIcon(data) {
    if (data && data.place === "order" && data.order) showIdentify(data.order);
    else showSettings();
  }

  /* Before payment: the quote, gifts, vouchers; next() always within the budget ------------- */
  function redeem(order, code, product, done) {
    screen.status("Redeeming…");
    return agent.call("post", "/v1/rewards/" + encodeURIComponent(code) + "/redeem",
      { order_id: S.orderIdOf(order), till: till() }, S.REDEEM_TIMEOUT_MS)
      .then(function (answer) {
        if (!S.ok(answer)) {
          screen.status(S.errorText(answer));
          return;
        }
        var line = answer.result.pos_product || product;
        if (!line || !line.sku) {
          screen.status("Redeemed " + answer.result.title + ": no POS product is set for it.");
          return;
        }
        return Promise.resolve(poster.orders.addProduct(order.id, { id: Number(line.sku) }))
          .then(function (res) {
            var after = res && res.order ? res.order : res;
            var priced = after && S.toMinorUnits(after.total) !== S.toMinorUnits(order.total);
            screen.status(priced ? "Added " + line.name + ", but it is not priced at zero in Poster."
                                 : "Added " + line.name + " at zero price.");
            if (done) done();
          });
      })
      .catch(function (err) { screen.status("Could not add the gift: " + err); });
  }

  function showQuote(order, q, carryOn) {
    var e = screen.el;
    var lines = [e("h2", { text: q.customer ? "Card " + (q.customer.number || q.customer.card_code) +
      (q.customer.name ? " · " + q.customer.name : "") : "Stamps on this check" })];
    lines.push(e("p", { id: "se-stamps", class: "big", text: "+" + q.stamps + (q.stamps === 1 ? " stamp" : " stamps") }));
    if (q.balance_before !== null && q.balance_before !== undefined) {
      lines.push(e("p", { id: "se-balance", text: q.balance_before + " → " + q.balance_after + " of " + q.goal }));
    }
    var r = q.rewards_on_this_check;
    if (r) {
      lines.push(e("p", { id: "se-goal", text: r.kind === "lottery"
        ? "Lottery moment! This check reaches the goal: the draw happens as it is paid."
        : "This check reaches the goal: " + r.title + (r.count > 1 ? " ×" + r.count : "") + "." }));
    }
    var list = e("ul", { id: "se-rewards" });
    (q.available || []).forEach(function (a) {
      var ready = a.state === "active";
      list.appendChild(e("li", {}, [ready
        ? e("button", { class: "se-gift", "data-code": a.code, text: "Add " + a.title +
            (a.pos_product && a.pos_product.name !== a.title ? " (" + a.pos_product.name + ")" : ""), on: function (ev) {
            ev.target.disabled = true;
            redeem(order, a.code, a.pos_product);
          } })
        : e("span", { text: a.title + " (" + a.state + ")" })]));
    });
    lines.push(list);
    lines.push(e("label", { for: "se-voucher", text: "Voucher code" }));
    lines.push(e("input", { id: "se-voucher", autocomplete: "off" }));
    lines.push(e("button", { id: "se-redeem", text: "Redeem voucher", on: function () {
      var code = screen.value("se-voucher").trim();
      if (code) redeem(order, code, null);
    } }));
    lines.push(e("button", { id: "se-continue", text: "Continue to payment", on: carryOn }));
    lines.push(e("p", { id: "se-status", class: "status" }));
    popup("Stampedge", lines, 600);
  }

  function beforeClose(data, next) {
    var order = S.orderOf(data);
    var called = false;
    function carryOn() {
      if (called) return;
      called = true;
      timers.clearTimeout(budget);
      try {
        poster.interface.closePopup();
      } finally {
        next();
      }
    }
    var budget = timers.setTimeout(function () {
      if (!called) notify("Stampedge did not answer in time; the check goes on without it.");
      carryOn();
    }, S.BUDGET_MS);
    var quoteBody;
    try {
      quoteBody = body(order);
    } catch (err) {
      carryOn();
      return;
    }
    if (!store.settings().agentUrl) {
      carryOn();
      return;
    }
    agent.call("post", "/v1/orders/quote", quoteBody, S.QUOTE_TIMEOUT_MS).then(function (answer) {
      if (called) return;
      if (!S.ok(answer)) {
        if (answer.code !== 404 || quoteBody.customer) notify(S.errorText(answer) + " Carry on.");
        carryOn();
        return;
      }
      var q = answer.result;
      var worth = q.customer || (q.available && q.available.length) || q.rewards_on_this_check;
      if (!worth) {
        carryOn();
        return;
      }
      showQuote(order, q, carryOn);
    }, function () { carryOn(); });
  }

  /* After payment: the check to the agent (kept and sent again until it answers) ---------- */
  function send(entry) {
    return agent.call("post", "/v1/orders", entry.body, S.ORDER_TIMEOUT_MS).then(function (answer) {
      if (S.ok(answer) || S.FINAL_REFUSALS.indexOf(answer.code) >= 0) {
        /* sent, or refused for good (sending the same body again gets the same answer);
         * anything else (offline, 401 after a token change, 5xx) is kept and sent again */
        store.drop(entry.body.order_id);
        return answer;
      }
      store.tried(entry.body.order_id);
      return null;
    });
  }

  function flush() {
    if (sending) return Promise.resolve();
    var box = store.outbox();
    if (!box.length) return Promise.resolve();
    sending = true;
    var chain = Promise.resolve();
    box.forEach(function (entry) {
      chain = chain.then(function () { return send(entry); });
    });
    return chain.then(function () { sending = false; }, function () { sending = false; });
  }

  function afterClose(data) {
    var order = S.orderOf(data);
    var s = store.settings();
    var b;
    try {
      b = body(order);
    } catch (err) {
      notify("Stampedge could not read this check's total.");
      return Promise.resolve();
    }
    var wantQr = s.mode === "receipt_qr" && !b.customer;
    b.receipt_qr = wantQr;
    b.print = false; /* Poster prints the receipt, with our QR */
    store.keep(b);
    store.setCard(order.id, null);
    return send({ body: b }).then(function (answer) {
      if (!answer) {
        notify("The Stampedge agent is offline; this check's stamps will be sent when it is back.");
        return;
      }
      if (wantQr && S.ok(answer) && answer.result.claim && answer.result.claim.url) {
        poster.orders.printReceipt(order.id, answer.result.claim.url, S.RECEIPT_TITLE);
      }
      flush();
    });
  }

  function install() {
    poster.interface.showApplicationIconAt({ functions: "Stampedge", order: "Stampedge card" });
    poster.on("applicationIconClicked", onIcon);
    poster.on("beforeOrderClose", beforeClose);
    poster.on("afterOrderClose", afterClose);
    timers.setInterval(flush, S.RETRY_MS);
    flush();
  }

  return { install: install, beforeClose: beforeClose, afterClose: afterClose, flush: flush,
           onIcon: onIcon, store: store, till: till, body: body };
};

/* --- src/90_main.js --- */
/* Inside Poster (its global Poster object present), the app installs itself. */
if (root.Poster && root.document) {
  S.app = S.createApp({
    poster: root.Poster,
    storage: root.localStorage,
    document: root.document,
    timers: {
      setTimeout: root.setTimeout.bind(root),
      clearTimeout: root.clearTimeout.bind(root),
      setInterval: root.setInterval.bind(root),
    },
  });
  S.app.install();
}

if (typeof module === "object" && module.exports) module.exports = S;
else root.StampedgePoster = S;
})(typeof globalThis !== "undefined" ? globalThis : this);
