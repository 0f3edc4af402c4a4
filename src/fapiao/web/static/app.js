// fapiao pages: upload with per-file progress, print buttons. No inline scripts (CSP).
"use strict";

(function () {
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  // each cell of a list carries its column's name: on a phone the rows show as cards (app.css)
  document.querySelectorAll("table.list").forEach(function (table) {
    var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.replace(/[↑↓]/g, "").trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (names[i] && !td.hasAttribute("colspan")) td.dataset.label = names[i];
      });
    });
  });

  var zone = document.getElementById("dropzone");
  if (!zone) return;
  var csrf = zone.dataset.csrf;
  var labels = document.getElementById("labels").dataset;
  var tbody = document.querySelector("#upload-results tbody");
  var summary = document.getElementById("upload-summary");
  var queue = [], running = 0, done = 0, total = 0, counts = {};
  var PARALLEL = 3;

  function row(name) {
    var tr = document.createElement("tr");
    var a = document.createElement("td"); a.textContent = name;
    var b = document.createElement("td"); var p = document.createElement("progress"); p.max = 100; p.value = 0; b.appendChild(p);
    var c = document.createElement("td"); c.className = "result";
    tr.appendChild(a); tr.appendChild(b); tr.appendChild(c); tbody.appendChild(tr);
    return { tr: tr, progress: p, result: c };
  }

  function describe(res) {
    var parts = [];
    [["imported", "imported"], ["duplicates", "duplicate"], ["conflicts", "conflict"], ["rejected", "rejected"], ["completed", "completed"]].forEach(function (k) {
      (res[k[0]] || []).forEach(function (o) {
        counts[k[1]] = (counts[k[1]] || 0) + 1;
        var text = labels[k[1]];
        if (o.number) text += " " + (o.code ? o.code + "-" : "") + o.number;
        if (o.findings && o.findings.length) {
          text += ": " + o.findings.map(function (f) { return labels.lang === "en" ? f.message_en : f.message; }).join("; ");
        }
        var href = o.id ? "/invoices/" + o.id : (o.review ? "/review/" + o.review : "");
        parts.push({ cls: "result-" + k[1], text: text, href: href });
      });
    });
    return parts;
  }

  function show(cell, parts) {
    cell.textContent = "";
    parts.forEach(function (p) {
      var d = document.createElement("div"); d.className = p.cls;
      if (p.href) { var a = document.createElement("a"); a.href = p.href; a.textContent = p.text; d.appendChild(a); }
      else { d.textContent = p.text; }
      cell.appendChild(d);
    });
  }

  function update() {
    var bits = [labels.done + " " + done + "/" + total];
    Object.keys(counts).forEach(function (k) { bits.push(labels[k] + " " + counts[k]); });
    summary.textContent = bits.join(" · ");
    summary.dataset.done = done === total ? "1" : "0";
  }

  function next() {
    while (running < PARALLEL && queue.length) {
      var job = queue.shift(); running++; send(job);
    }
  }

  function send(job) {
    var xhr = new XMLHttpRequest();
    var form = new FormData();
    form.append("file", job.file, job.name);
    xhr.open("POST", "/upload/file");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) job.ui.progress.value = Math.round(90 * e.loaded / e.total); };
    xhr.onload = function () {
      job.ui.progress.value = 100;
      if (xhr.status === 200) { show(job.ui.result, describe(JSON.parse(xhr.responseText))); }
      else { counts.failed = (counts.failed || 0) + 1; show(job.ui.result, [{ cls: "result-failed", text: labels.failed + " (" + xhr.status + ")" }]); }
      finish();
    };
    xhr.onerror = function () { counts.failed = (counts.failed || 0) + 1; show(job.ui.result, [{ cls: "result-failed", text: labels.failed }]); finish(); };
    xhr.send(form);
  }

  function finish() { running--; done++; update(); next(); }

  function add(file, name) {
    total++;
    queue.push({ file: file, name: name || file.webkitRelativePath || file.name, ui: row(name || file.webkitRelativePath || file.name) });
  }

  function addList(list) { for (var i = 0; i < list.length; i++) add(list[i]); update(); next(); }

  function walkEntry(entry, path, pending) {
    if (entry.isFile) {
      pending.n++;
      entry.file(function (f) { add(f, path + f.name); if (--pending.n === 0) { update(); next(); } });
    } else if (entry.isDirectory) {
      var reader = entry.createReader();
      pending.n++;
      var read = function () {
        reader.readEntries(function (entries) {
          if (!entries.length) { if (--pending.n === 0) { update(); next(); } return; }
          entries.forEach(function (e) { walkEntry(e, path + entry.name + "/", pending); });
          read();
        });
      };
      read();
    }
  }

  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault(); zone.classList.remove("over");
    var items = e.dataTransfer.items, pending = { n: 0 };
    if (items && items.length && items[0].webkitGetAsEntry) {
      for (var i = 0; i < items.length; i++) { var en = items[i].webkitGetAsEntry(); if (en) walkEntry(en, "", pending); }
    } else { addList(e.dataTransfer.files); }
  });
  ["files", "folder"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", function (e) { addList(e.target.files); e.target.value = ""; });
  });
})();
