/* CharterOps crew page, progressively enhanced: every form already works without this file.
   With it: ticks save in place, photos go straight to storage with progress, mileage shows its
   amount as you type, and a lost connection is announced and retried. No dependencies. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var offline = document.getElementById("offline");
  var queue = []; // checklist ticks waiting for the network, oldest first
  var retryTimer = null;

  function setOffline(isOffline) {
    if (offline) offline.hidden = !isOffline;
  }
  window.addEventListener("offline", function () { setOffline(true); });
  window.addEventListener("online", function () { setOffline(false); flush(); });
  if (navigator.onLine === false) setOffline(true);

  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postJSON(url, form, body, isForm) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrf(form) };
    if (!isForm) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: isForm ? body : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || ("The server said " + response.status));
          error.server = true;
          throw error;
        }
        return data;
      });
    });
  }

  // --- Checklist -----------------------------------------------------------------------
  function renderItem(li, data) {
    li.classList.toggle("done", data.done);
    li.classList.remove("pending");
    var tick = li.querySelector(".tickbox");
    var text = li.querySelector(".text").textContent;
    tick.value = data.done ? "undo" : "done";
    tick.setAttribute("aria-pressed", data.done ? "true" : "false");
    tick.setAttribute("aria-label", (data.done ? "Untick: " : "Tick: ") + text);
    li.querySelector("[data-meta]").textContent =
      data.done ? "Done by " + data.done_by + " at " + data.done_at : "";
    var save = li.querySelector("[data-note-save]");
    if (save) save.textContent = data.done ? "Save note" : "Tick with note";
    var note = li.querySelector("input[name=note]");
    if (note && document.activeElement !== note) note.value = data.note;
    var progress = document.querySelector("[data-progress]");
    if (progress && data.progress) {
      progress.textContent = data.progress.text;
      progress.classList.toggle("ready", data.progress.ready);
    }
  }

  function sendTick(job) {
    // getAttribute: the buttons named "action" shadow the form's own .action property.
    return postJSON(job.form.getAttribute("action"), job.form, job.body, true).then(function (data) {
      renderItem(job.li, data);
    });
  }

  function flush() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    if (!queue.length) return;
    var job = queue[0];
    sendTick(job).then(function () {
      queue.shift();
      setOffline(false);
      flush();
    }, function (error) {
      if (error.server) {
        queue.shift();
        job.li.classList.remove("pending");
        job.li.classList.toggle("done", job.wasDone); // the server said no: show what is true
        alert(error.message);
        flush();
        return;
      }
      setOffline(true);
      retryTimer = setTimeout(flush, 5000);
    });
  }

  document.querySelectorAll("form[data-tick]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter || form.querySelector("[data-note-save]") || form.querySelector(".tickbox");
      var body = new FormData(form);
      body.set("action", submitter ? submitter.value : "done");
      var li = form.closest("[data-item]");
      // Show the intended state at once; the server's answer then confirms who and when.
      var wasDone = li.classList.contains("done");
      li.classList.toggle("done", body.get("action") !== "undo");
      li.classList.add("pending");
      queue.push({ form: form, li: li, body: body, wasDone: wasDone });
      if (queue.length === 1) flush();
    });
  });

  // --- Photos: grant, direct upload with progress, confirm ---------------------------------
  function upload(form, file, row) {
    var bar = row.querySelector("progress");
    var label = row.querySelector("span");
    return postJSON(form.dataset.grantUrl, form, {
      filename: file.name, content_type: file.type || "", size: file.size
    }).then(function (grant) {
      return new Promise(function (resolve, reject) {
        var data = new FormData();
        Object.keys(grant.fields).forEach(function (name) { data.append(name, grant.fields[name]); });
        data.append("file", file); // S3 wants the file last
        var xhr = new XMLHttpRequest();
        xhr.open("POST", grant.url);
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = e.loaded / e.total; };
        xhr.onload = function () {
          if (xhr.status >= 200 && xhr.status < 300) resolve(grant);
          else { var err = new Error("Storage refused the photo (" + xhr.status + ")"); err.server = true; reject(err); }
        };
        xhr.onerror = function () { reject(new Error("network")); };
        xhr.send(data);
      });
    }).then(function (grant) {
      label.textContent = file.name + ": checking…";
      return postJSON(form.dataset.confirmUrl, form, { key: grant.key });
    });
  }

  function uploadWithRetry(form, file, list, onDone) {
    var row = document.createElement("li");
    row.innerHTML = "<span></span><progress max='1' value='0'></progress>";
    row.querySelector("span").textContent = file.name + ": uploading…";
    list.appendChild(row);
    function attempt() {
      upload(form, file, row).then(function (photo) {
        row.querySelector("span").textContent = file.name + ": uploaded";
        row.querySelector("progress").value = 1;
        setOffline(false);
        onDone(photo);
      }, function (error) {
        if (error.server) {
          row.querySelector("span").textContent = file.name + ": " + error.message;
          return;
        }
        setOffline(true);
        row.querySelector("span").textContent = file.name + ": waiting for a connection, will retry…";
        var again = function () { window.removeEventListener("online", again); clearTimeout(timer); attempt(); };
        var timer = setTimeout(again, 5000);
        window.addEventListener("online", again);
      });
    }
    attempt();
  }

  document.querySelectorAll("form[data-photo-form]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector("[data-uploads]");
    var gallery = document.querySelector("[data-gallery]");
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) {
        uploadWithRetry(form, file, list, function (photo) {
          var empty = gallery.querySelector("[data-empty]");
          if (empty) empty.remove();
          var link = document.createElement("a");
          link.href = photo.url;
          var img = document.createElement("img");
          img.src = photo.url; img.alt = "Photo you uploaded"; img.loading = "lazy";
          link.appendChild(img);
          gallery.appendChild(link);
        });
      });
      input.value = "";
    });
  });

  // --- Expenses: fields per kind, live mileage amount, receipt upload -------------------------
  document.querySelectorAll("form[data-expense-form]").forEach(function (form) {
    function kind() {
      var checked = form.querySelector("input[name=kind]:checked");
      return checked ? checked.value : "";
    }
    function splitMode() {
      var checked = form.querySelector("input[name=split_mode]:checked");
      return checked ? checked.value : "equal";
    }
    function refresh() {
      var k = kind();
      form.querySelectorAll("[data-for-kind]").forEach(function (el) {
        el.hidden = k !== "" && el.dataset.forKind.split(" ").indexOf(k) === -1;
      });
      var shares = form.querySelector(".shares");
      if (shares) shares.hidden = splitMode() !== "custom";
      var preview = form.querySelector("[data-mileage-preview]");
      var miles = form.querySelector("input[name=miles]");
      if (preview && miles) {
        var value = parseFloat(miles.value.replace(",", "."));
        var rate = parseFloat(preview.dataset.rate);
        preview.textContent = value > 0
          ? "= $" + (Math.round(value * rate * 100) / 100).toFixed(2) + " at $" + rate.toFixed(2) + " a mile"
          : "";
      }
    }
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    refresh();

    var receipt = form.querySelector("input[name=receipt]");
    var key = form.querySelector("input[name=receipt_key]");
    var status = form.querySelector("[data-receipt-status]");
    if (receipt && key) {
      receipt.addEventListener("change", function () {
        var file = receipt.files[0];
        if (!file) return;
        var list = document.createElement("ul");
        list.className = "uploads";
        status.textContent = "";
        status.appendChild(list);
        uploadWithRetry(form, file, list, function (photo) {
          key.value = photo.key;
          receipt.value = ""; // already stored: do not send the bytes again with the form
          status.textContent = "Receipt attached.";
        });
      });
    }
  });
})();
