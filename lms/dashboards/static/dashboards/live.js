/* Live dashboard: adds pushed completions and certificates to the counters and the recent list.
   The page is complete without it; it only saves a reload. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-ws]");
  if (!root || !window.WebSocket) { return; }
  var seen = {};
  var list = document.getElementById("recent-completions");
  var lang = document.documentElement.lang || "en";
  var retry = 1000;
  function title(values) {
    if (!values || typeof values !== "object") { return values || ""; }
    // The same order as the server's lms.i18n.pick: the page's language, English, then the rest.
    return values[lang] || values.en || values.es || values.pt || values.fr || Object.values(values)[0] || "";
  }
  function bump(counters) {
    Object.keys(counters || {}).forEach(function (name) {
      var cell = root.querySelector('[data-counter="' + name + '"]');
      if (cell) { cell.textContent = String((parseInt(cell.textContent, 10) || 0) + counters[name]); }
    });
  }
  function addCompletion(data) {
    if (!list) { return; }
    var empty = list.querySelector(".empty");
    if (empty) { empty.remove(); }
    var item = document.createElement("li");
    item.textContent = data.name + " · " + title(data.course) + " · " + new Date(data.at).toLocaleString(lang);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 10) { list.removeChild(list.lastChild); }
  }
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + root.getAttribute("data-live-ws"));
    socket.onopen = function () { retry = 1000; root.setAttribute("data-live", "connected"); };
    function hear(data) {
      if (data.key) { if (seen[data.key]) { return; } seen[data.key] = true; }
      bump(data.counters);
      if (data.event === "completion") { addCompletion(data); }
    }
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      // Many events at once (a run's released grades) come as one batch, oldest first.
      if (data.event === "batch") { (data.events || []).forEach(hear); } else { hear(data); }
    };
    socket.onclose = function (event) {
      root.removeAttribute("data-live");
      if (event.code === 4401 || event.code === 4403) { return; }
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    };
  }
  connect();
})();
