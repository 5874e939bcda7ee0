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
