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
