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
