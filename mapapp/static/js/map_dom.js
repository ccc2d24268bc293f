/*
 * Trygghetskartan: small DOM helpers shared by the map scripts (map.js, map_popups.js).
 *
 * Text goes in with textContent only (never innerHTML): data from users shows as
 * written, never as markup.
 */
window.tkDom = (function () {
  "use strict";

  var numberFormat = new Intl.NumberFormat("sv-SE");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function add(parent, tag, className, text) {
    var node = el(tag, className, text);
    parent.appendChild(node);
    return node;
  }

  function fmt(value) {
    return typeof value === "number" ? numberFormat.format(value) : String(value);
  }

  function capitalise(text) {
    text = String(text || "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  return { el: el, add: add, fmt: fmt, capitalise: capitalise };
}());
