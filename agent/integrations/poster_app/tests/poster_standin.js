/* A stand-in for the Poster POS platform's global `Poster` object, for tests: it implements the
 * documented calls and records every one. Its shape is taken from joinposter/docs (en/pos/...:
 * settings.md, environment.md, interfaces/*, orders/orders-addProduct.md, orders-printReceipt.md,
 * requests/makeRequest.md, events/*) and poster.d.ts in joinposter/pos-platform-boilerplate.
 *
 * `request(url, options)` does what Poster's native layer does for makeRequest: it must return a
 * Promise of {code, result}. Works in node (require) and in a browser page (window.makePoster).
 */
(function (root) {
  "use strict";

  function makePoster(opts) {
    var o = opts || {};
    var calls = [];
    var handlers = {};
    var orders = {};
    var catalog = o.catalog || {};
    var rec = function (name, args) {
      calls.push({ name: name, at: Date.now(), args: JSON.parse(JSON.stringify(args === undefined ? null : args)) });
    };
    var poster = {
      settings: Object.assign({
        accountUrl: "corner-cafe", country: "DE", currencyCodeIso: "EUR", currency: "EUR",
        currencySymbol: "€", lang: "en", spotId: 1, spotTabletId: 2, subnetMask: "192.168.1",
        timezone: "Europe/Berlin", usesTables: false, workshops: {}, applicationId: "1",
        applicationName: "stampedge", extras: {}, spotExtras: {}, spotTabletExtras: {},
      }, o.settings || {}),
      environment: Object.assign({ android: true, iOS: false, windows: false, desktop: false },
                                 o.environment || {}),
      interface: {
        popup: function (args) { rec("interface.popup", args); },
        closePopup: function () { rec("interface.closePopup"); },
        showApplicationIconAt: function (places) { rec("interface.showApplicationIconAt", places); },
        scanBarcode: function () {
          rec("interface.scanBarcode");
          return Promise.resolve({ barcode: poster.nextBarcode || "" });
        },
        showNotification: function (n) {
          rec("interface.showNotification", n);
          return Promise.resolve({ id: calls.length, date: Date.now(), title: n.title,
                                   message: n.message, icon: n.icon, status: 0, waiter: 0 });
        },
      },
      orders: {
        addProduct: function (orderId, product) {
          rec("orders.addProduct", [orderId, product]);
          var order = orders[orderId];
          var p = catalog[product.id];
          if (!order || !p) return Promise.reject(new Error("no such order or product"));
          var keys = Object.keys(order.products);
          order.products[String(keys.length)] = { id: product.id, count: 1, price: p.price, printedNum: 0 };
          order.total = Math.round((order.total + p.price) * 100) / 100;
          order.subtotal = order.total;
          return Promise.resolve({ order: JSON.parse(JSON.stringify(order)) });
        },
        printReceipt: function (orderId, qrCode, qrCodeTitle) {
          rec("orders.printReceipt", [orderId, qrCode, qrCodeTitle]);
        },
        getActive: function () { return Promise.resolve(null); },
      },
      makeRequest: function (url, options, callback) {
        rec("makeRequest", [url, options]);
        var entry = calls[calls.length - 1];
        Promise.resolve(o.request(url, options)).then(function (answer) {
          entry.answer = { code: answer.code };
          callback(answer);
        }, function () {
          entry.answer = { code: 0 };
          callback({ result: false, code: 0 });
        });
      },
      on: function (event, callback) {
        rec("on", event);
        handlers[event] = callback;
      },
      /* --- test helpers (not Poster's) --- */
      calls: calls,
      handlers: handlers,
      nextBarcode: "",
      named: function (name) { return calls.filter(function (c) { return c.name === name; }); },
      /** An open order (en/pos/types/order.md), its id its opening time in ms. */
      openOrder: function (id, products) {
        var total = 0;
        var lines = {};
        (products || []).forEach(function (p, i) {
          lines[String(i)] = { id: p.id, count: p.count, price: p.price, printedNum: 0 };
          total += p.count * p.price;
        });
        total = Math.round(total * 100) / 100;
        orders[id] = { id: id, dateStart: id, dateClose: 0, datePrint: 0, status: 1, userId: 1,
                       tableId: 0, orderName: "", guestsCount: 1, products: lines, subtotal: total,
                       total: total, discount: 0, clientId: 0, payType: "0", payedSum: 0,
                       payedCard: 0, payedCash: 0, payedThirdParty: 0, payedBonus: 0,
                       approvedBonus: 0, platformDiscount: 0, loyaltyAppId: 0, parentId: 0,
                       tipIncluded: 0, tipSum: 0, roundSum: 0, comment: "" };
        return orders[id];
      },
      order: function (id) { return orders[id]; },
      /** The cashier taps Pay: beforeOrderClose; resolves when next() is called, with the
       * milliseconds it took and whether Poster's five-second budget held. */
      pay: function (id) {
        var started = Date.now();
        return new Promise(function (resolve) {
          var budget = setTimeout(function () { resolve({ ms: Date.now() - started, inBudget: false }); }, 5000);
          handlers.beforeOrderClose({ order: JSON.parse(JSON.stringify(orders[id])) }, function (arg) {
            clearTimeout(budget);
            rec("next", arg);
            resolve({ ms: Date.now() - started, inBudget: true });
          });
        });
      },
      /** The order is paid and closed: afterOrderClose (the handler's promise, if any). */
      close: function (id) {
        var order = orders[id];
        order.status = 2;
        order.dateClose = Date.now();
        order.payedSum = order.total;
        order.payedCash = order.total;
        return Promise.resolve(handlers.afterOrderClose({ order: JSON.parse(JSON.stringify(order)) }));
      },
      click: function (place, id) {
        handlers.applicationIconClicked({ place: place, order: id ? orders[id] : undefined });
      },
    };
    return poster;
  }

  if (typeof module === "object" && module.exports) module.exports = { makePoster: makePoster };
  else root.makePoster = makePoster;
})(typeof globalThis !== "undefined" ? globalThis : this);
