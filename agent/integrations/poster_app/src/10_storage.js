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
