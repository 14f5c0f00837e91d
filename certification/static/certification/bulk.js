// Live progress of a bulk issuance job over its WebSocket; the page works without it.
(function () {
  "use strict";
  var box = document.getElementById("bulk");
  if (!box || !window.WebSocket) { return; }
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + box.dataset.socket);
  socket.onmessage = function (event) {
    var data = JSON.parse(event.data);
    var bar = document.getElementById("bulk-progress");
    bar.max = data.total || 1;
    bar.value = data.done;
    bar.textContent = data.percent + "%";
    document.getElementById("bulk-done").textContent = data.done;
    document.getElementById("bulk-total").textContent = data.total;
    document.getElementById("bulk-state").textContent = box.dataset["label" + data.state.charAt(0).toUpperCase() + data.state.slice(1)] || data.state;
    document.getElementById("bulk-error").textContent = data.state === "failed" ? box.dataset.labelError : "";
    document.getElementById("bulk-resume").hidden = data.state !== "failed";
  };
})();
