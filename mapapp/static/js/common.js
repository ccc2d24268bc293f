/* Behaviour every page shares, kept out of the HTML: the Content-Security-Policy
 * blocks inline event handlers (onclick=, onsubmit=), so pages declare what they
 * want with data attributes and this file acts on them.
 *
 * <form data-confirm="Ta bort …?">: asks before the form is sent.
 */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();
