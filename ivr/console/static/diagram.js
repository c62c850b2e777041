// The menu diagram: the Mermaid source shown on the page, drawn as SVG by the vendored mermaid.
"use strict";
(function () {
  var source = document.getElementById("diagram-source");
  var target = document.getElementById("diagram");
  if (!source || !target || !window.mermaid) { return; }
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  window.mermaid.render("menu-diagram-svg", source.textContent).then(function (result) {
    target.innerHTML = result.svg;
    target.setAttribute("role", "img");
    target.setAttribute("aria-label", target.dataset.label);
    var wait = document.getElementById("diagram-wait");
    if (wait) { wait.remove(); }
  }).catch(function (error) {
    var wait = document.getElementById("diagram-wait");
    if (wait) { wait.textContent = "The diagram could not be drawn (" + error + "); the Mermaid source is below."; }
  });
}());
