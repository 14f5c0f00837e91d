/* Live notification count: listens on ws/notifications/ and updates the header. Pages work without it. */
(function () {
  "use strict";
  var link = document.querySelector("[data-notifications-ws]");
  var count = document.getElementById("notification-count");
  if (!link || !count || !window.WebSocket) { return; }
  var unread = parseInt(count.textContent.replace(/\D+/g, ""), 10) || 0;
  var retry = 1000;
  function show() {
    count.textContent = unread > 0 ? String(unread) : "";
  }
  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + link.getAttribute("data-notifications-ws"));
    socket.onopen = function () { retry = 1000; };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "notification") { unread += 1; show(); }
    };
    socket.onclose = function (event) {
      if (event.code === 4401) { return; }
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 60000);
    };
  }
  connect();
})();
