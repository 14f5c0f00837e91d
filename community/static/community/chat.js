// The cohort chat: live messages over WebSocket, presence, and reconnection without loss.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root || !window.WebSocket) { return; }
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = form.querySelector("input[name=body], textarea[name=body]");
  var status = document.getElementById("chat-status");
  var presence = document.getElementById("chat-presence");
  var moderator = root.dataset.moderator === "1";
  var lastId = 0;
  var socket = null;
  var pending = {};
  var retry = 500;
  Array.prototype.forEach.call(log.querySelectorAll("li[data-id]"), function (li) {
    lastId = Math.max(lastId, parseInt(li.dataset.id, 10));
  });

  function render(message) {
    if (log.querySelector('li[data-id="' + message.id + '"]')) { return; }
    var li = document.createElement("li");
    li.dataset.id = message.id;
    var who = document.createElement("strong");
    who.textContent = message.author;
    var when = document.createElement("time");
    when.dateTime = message.created_at;
    when.textContent = new Date(message.created_at).toLocaleTimeString(document.documentElement.lang || [], {hour: "2-digit", minute: "2-digit"});
    var body = document.createElement("span");
    body.className = "chat-body";
    body.textContent = message.body;
    li.append(who, " ", when, " ", body);
    if (moderator) {
      var hide = document.createElement("button");
      hide.type = "button";
      hide.textContent = root.dataset.labelHide;
      hide.addEventListener("click", function () { send({type: "hide", id: message.id}); });
      li.append(" ", hide);
    }
    log.appendChild(li);
    lastId = Math.max(lastId, message.id);
    log.scrollTop = log.scrollHeight;
  }

  function send(payload) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(payload)); return true; }
    return false;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath + "?after=" + lastId);
    socket.onopen = function () {
      retry = 500;
      status.textContent = root.dataset.labelConnected;
      Object.keys(pending).forEach(function (id) { send(pending[id]); });
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "history") { data.messages.forEach(render); }
      else if (data.type === "message") { delete pending[data.message.client_id]; render(data.message); }
      else if (data.type === "hidden") {
        var li = log.querySelector('li[data-id="' + data.id + '"]');
        if (li) { li.remove(); }
      }
      else if (data.type === "presence") {
        // The page's translated sentence, "Online now: %(names)s", with the names put in.
        presence.textContent = root.dataset.labelOnline.replace("%(names)s", function () { return data.online.join(", "); });
      }
      else if (data.type === "error") { status.textContent = data.error; }
    };
    socket.onclose = function (event) {
      // Refused (signed out, or no longer in this run): say so and stop trying.
      if (event.code === 4401 || event.code === 4403) {
        status.textContent = root.dataset.labelClosed;
        form.querySelectorAll("input, textarea, button").forEach(function (el) { el.disabled = true; });
        return;
      }
      status.textContent = root.dataset.labelReconnecting;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    var clientId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    var payload = {type: "message", body: text, client_id: clientId};
    pending[clientId] = payload;
    send(payload);
    input.value = "";
    input.focus();
  });
  setInterval(function () { send({type: "ping"}); }, 60000);
  connect();
})();
