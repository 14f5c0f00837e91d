// Progressive enhancement of the attempt page: autosave after changes and every 15 s, and a
// countdown from the server's time left. Without this file the page works with its buttons.
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form || !window.fetch) { return; }
  var status = document.getElementById("autosave-status");
  var dirty = false;
  function save() {
    if (!dirty) { return; }
    dirty = false;
    var data = new FormData(form);
    fetch(form.dataset.autosave, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      return response.json().then(function (body) {
        if (body.saved && body.error) {
          status.textContent = body.error;
        } else if (body.saved) {
          status.textContent = form.dataset.saved + " " + new Date().toLocaleTimeString(document.documentElement.lang || undefined);
        } else {
          status.textContent = body.error || form.dataset.failed;
        }
      });
    }).catch(function () { dirty = true; status.textContent = form.dataset.failed; });
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
    var end = Date.now() + parseInt(timer.dataset.seconds, 10) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      // the whole label is translated ("Temps restant : %(time)s"): the time goes in its place
      timer.textContent = form.dataset.left.replace("%(time)s", m + ":" + (s < 10 ? "0" : "") + s);
      if (left === 0) {
        timer.textContent = form.dataset.timeup;
        clearInterval(handle);
        // Submit what is on the page; the server accepts it within its grace period.
        document.getElementById("submit-attempt").click();
      }
    };
    var handle = setInterval(tick, 1000);
    tick();
  }
})();
