(function () {
  "use strict";
  function setExpanded(node, on) {
    node.classList.toggle("expanded", on);
    var header = node.querySelector(":scope > .header");
    if (header) header.setAttribute("aria-expanded", on ? "true" : "false");
  }
  function toggle(header) {
    var node = header.parentElement;
    setExpanded(node, !node.classList.contains("expanded"));
  }
  document.querySelectorAll(".node > .header").forEach(function (header) {
    header.addEventListener("click", function () { toggle(header); });
    header.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(header); }
    });
  });
  var nodes = function () { return document.querySelectorAll(".node"); };
  var actions = {
    "expand-all": function () { nodes().forEach(function (n) { setExpanded(n, true); }); },
    "collapse-all": function () { nodes().forEach(function (n) { setExpanded(n, false); }); },
    "winner-path": function () {
      nodes().forEach(function (n) { setExpanded(n, n.classList.contains("winner")); });
      var last = document.querySelectorAll(".node.winner");
      if (last.length) last[last.length - 1].scrollIntoView({ block: "center" });
    }
  };
  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () { actions[button.dataset.action](); });
  });
  document.body.dataset.ready = "1";
})();
