// Progressive enhancement of the attempt page: autosave after changes and every 15 s, and a
// countdown from the server's time left. Without this file the page works with its buttons.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form || !window.fetch) { return; }
  var status = document.getElementById("autosave-status");
  var dirty = false;
  var end = null;  // when the countdown reaches 0 (ms), from the server's time left
  function save() {
    if (!dirty) { return Promise.resolve(null); }
    dirty = false;
    var data = new FormData(form);
    return fetch(form.dataset.autosave, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      return response.json().then(function (body) {
        // The server's time left wins: extra time may have been given since the page loaded.
        if (end !== null && typeof body.time_left === "number") {
          end = Date.now() + body.time_left * 1000;
        }
        if (body.saved && body.error) {
          status.textContent = body.error;
        } else if (body.saved) {
          status.textContent = form.dataset.saved + " " + new Date().toLocaleTimeString(document.documentElement.lang || undefined);
        } else {
          status.textContent = body.error || form.dataset.failed;
        }
        return body;
      });
    }).catch(function () { dirty = true; status.textContent = form.dataset.failed; return null; });
  }
  // Save 2 s after the last change, and every 15 s whatever happens.
  var pending = null;
  function changed() {
    dirty = true;
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(save, 2000);
  }
  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
  setInterval(save, 15000);
  var timer = document.getElementById("timer");
  if (timer) {
    end = Date.now() + parseInt(timer.dataset.seconds, 10) * 1000;
    var handle = null;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      // the whole label is translated ("Temps restant : %(time)s"): the time goes in its place
      timer.textContent = form.dataset.left.replace("%(time)s", m + ":" + (s < 10 ? "0" : "") + s);
      if (left === 0) {
        clearInterval(handle);
        // Save what is on the page and ask the server for the time left: extra time given
        // during the attempt lengthens it. None left: submit what is on the page (the server
        // accepts it within its grace period).
        dirty = true;
        save().then(function (body) {
          if (body && body.saved && body.time_left > 0) {
            handle = setInterval(tick, 1000);
            tick();
          } else {
            timer.textContent = form.dataset.timeup;
            document.getElementById("submit-attempt").click();
          }
        });
      }
    };
    handle = setInterval(tick, 1000);
    tick();
  }
})();
