// bookkit.sitefixes: ipywidgets draws a slider's handle with role="slider" but no accessible
// name. Name each handle after the widget's own description label ("batch size"), so a
// screen reader announces "batch size, slider, 64". Only pages with widget views run this.
(function () {
  "use strict";
  var HANDLES = ".widget-slider .noUi-handle:not([aria-label])";

  function label() {
    document.querySelectorAll(HANDLES).forEach(function (handle) {
      var widget = handle.closest(".widget-slider");
      var text = widget && widget.querySelector(".widget-label");
      handle.setAttribute("aria-label", (text && text.textContent.trim()) || "value");
    });
  }

  function start() {
    if (!document.querySelector('script[type="application/vnd.jupyter.widget-view+json"]')) return;
    label();
    new MutationObserver(label).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
