// Page behaviour: drag-and-drop upload with a progress bar, plotly charts, reload when a job ends.
(function () {
  "use strict";

  function renderCharts() {
    if (!window.Plotly) return;
    var figures = {};
    document.querySelectorAll("#profile-charts").forEach(function (data) {
      Object.assign(figures, JSON.parse(data.textContent));
    });
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.rendered) return;
      var fig = figures[el.dataset.chart];
      if (!fig && el.dataset.figure) {
        try { fig = JSON.parse(el.dataset.figure); } catch (err) { fig = null; }
      }
      if (!fig || !Array.isArray(fig.data)) return;
      el.dataset.rendered = "1";
      window.Plotly.newPlot(el, fig.data, fig.layout, {
        displaylogo: false, responsive: true, topojsonURL: "/static/vendor/",
        modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"]
      });
    });
  }

  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("file-input");
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; status.textContent = e.dataTransfer.files[0].name + " ready to upload"; }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false;
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) { bar.value = Math.round(100 * ev.loaded / ev.total); status.textContent = "Uploading… " + bar.value + "%"; }
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = {error: "The server answered " + xhr.status + "."}; }
        if (xhr.status === 202) { status.textContent = "Uploaded; reading the file…"; window.location = body.url; }
        else { bar.hidden = true; status.textContent = ""; showError(body.error || ("Upload failed (" + xhr.status + ")")); }
      };
      xhr.onerror = function () { bar.hidden = true; showError("The upload was interrupted; nothing was stored."); };
      xhr.send(new FormData(form));
    });
    function showError(text) {
      var p = document.getElementById("upload-error") || document.createElement("p");
      p.id = "upload-error"; p.className = "error"; p.setAttribute("role", "alert"); p.textContent = text;
      form.appendChild(p);
    }
  }

  document.addEventListener("job-finished", function () {
    if (document.querySelector("[data-reload-on-finish]")) window.location.reload();
  });
  // copy buttons: <button data-copy="ID"> copies the text of element ID (the generated code)
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent).then(function () { button.textContent = "Copied"; });
  });
  document.addEventListener("htmx:afterSettle", renderCharts);  // a turn that finished brings its charts
  document.addEventListener("DOMContentLoaded", function () { setupUpload(); renderCharts(); });
})();
