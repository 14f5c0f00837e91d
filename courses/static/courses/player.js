/* The lesson player's video: resume where the learner stopped, and save the position every
   15 seconds while playing, on pause, at the end and when the page is left (sendBeacon).
   Without JavaScript the video still plays and "I have watched the video" still works. */
(function () {
  "use strict";
  var video = document.querySelector("video[data-position-url]");
  if (!video) { return; }
  var url = video.getAttribute("data-position-url");
  var token = video.getAttribute("data-csrf");
  var start = parseFloat(video.getAttribute("data-start") || "0");
  var lastSent = -1;

  function form(position) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", token);
    data.append("position", String(position));
    if (isFinite(video.duration) && video.duration >= 1) {
      data.append("duration", String(Math.floor(video.duration)));
    }
    return data;
  }

  function save(leaving) {
    var position = Math.floor(video.currentTime);
    if (position === lastSent || (position === 0 && lastSent < 0)) { return; }
    lastSent = position;
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon(url, form(position));
    } else if (window.fetch) {
      fetch(url, { method: "POST", body: form(position), credentials: "same-origin" })
        .catch(function () { lastSent = -1; });
    }
  }

  if (start > 0) {
    video.addEventListener("loadedmetadata", function () {
      if (!isFinite(video.duration) || start < video.duration - 1) { video.currentTime = start; }
    }, { once: true });
  }
  window.setInterval(function () { if (!video.paused) { save(false); } }, 15000);
  video.addEventListener("pause", function () { save(true); });
  video.addEventListener("ended", function () { save(true); });
  window.addEventListener("pagehide", function () { save(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { save(true); }
  });
}());
