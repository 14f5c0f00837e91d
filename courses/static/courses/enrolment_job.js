/* A bulk enrolment's progress: asks the page's own address for its state as JSON every two
   seconds until the job is done or failed. Without JavaScript, reloading the page shows it. */
(function () {
  "use strict";
  var box = document.getElementById("enrolment-job");
  if (!box || box.dataset.finished || !window.fetch) { return; }
  function show(id, value) { document.getElementById(id).textContent = String(value); }
  function poll() {
    fetch(location.href, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) { return setTimeout(poll, 5000); }
        var bar = document.getElementById("job-progress");
        bar.max = job.total || 1;
        bar.value = job.done;
        bar.textContent = job.percent + "%";
        show("job-state", job.label);
        show("job-done", job.done);
        show("job-total", job.total);
        show("job-enrolled", job.enrolled);
        show("job-waitlisted", job.waitlisted);
        show("job-already", job.already);
        show("job-error", job.error || "");
        document.getElementById("job-again").hidden = job.state !== "failed";
        if (job.state !== "done" && job.state !== "failed") { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
